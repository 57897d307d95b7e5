// Package mail sends the mails latch writes itself (password resets,
// email verification) over SMTP: a queue drained by one sender, so that
// no request waits for, or is timed by, a mail server; retries with
// backoff; every failure logged and counted.
package mail
