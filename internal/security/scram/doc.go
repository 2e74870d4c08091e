// Package scram derives and parses SCRAM credentials (RFC 5802, RFC 7677) as Kafka stores
// them: from a password, a salt and an iteration count, the salted password
// Hi(password, salt, i) (PBKDF2 with HMAC-SHA-256 or -512), and from that the StoredKey
// H(HMAC(SaltedPassword, "Client Key")) and the ServerKey HMAC(SaltedPassword, "Server Key").
// The password itself is never stored.
//
// It also parses the credential syntax of Kafka's tools (kafka-storage format --add-scram,
// kafka-configs --add-config):
//
//	SCRAM-SHA-256=[name=alice,password=alice-secret]
//	SCRAM-SHA-512=[name=bob,iterations=8192,salt=<base64>,saltedpassword=<base64>]
//
// Example:
//
//	spec, _ := scram.ParseSpec("SCRAM-SHA-256=[name=admin,password=admin-secret]")
//	cred, _ := spec.Credential(nil) // a random salt, Kafka's 4096 iterations by default
//	// cred.StoredKey and cred.ServerKey go into a UserScramCredentialRecord.
package scram
