// Package password hashes passwords with argon2id into PHC strings and
// verifies those and hashes imported from other systems (bcrypt, argon2i,
// scrypt, Firebase's scrypt, PBKDF2 in Django, passlib and Kratos forms,
// LDAP {SSHA}), within cost caps, on a bounded pool of workers that honours
// each request's context. It tells the caller when a hash should be
// upgraded to the current parameters.
package password
