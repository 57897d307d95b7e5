// Package password hashes passwords with argon2id into PHC strings and
// verifies both those and imported hashes (bcrypt, scrypt, argon2i and
// argon2id), telling the caller when a hash should be upgraded to the
// current parameters.
package password
