package registry

import "strings"

// Contexts (Confluent's schema contexts) are namespaces of subjects: a subject named
// ":.orders:payments" is the subject "payments" in the context ".orders". Subjects without that
// prefix are in the default context ".". Contexts are only a naming convention: the state keys
// every subject by its full name; ids and "the same schema" are looked up per context.

// DefaultContext is the name Confluent gives the context of unprefixed subjects.
const DefaultContext = "."

// contextWildcard is the subjectPrefix that matches every context (Confluent's default for
// GET /subjects).
const contextWildcard = ":*:"

// SplitSubject returns the context of a subject name (".orders", or "." for the default) and the
// name inside it. Malformed prefixes (":.x" without a closing colon) are part of a default-context
// name.
func SplitSubject(subject string) (context, name string) {
	if !strings.HasPrefix(subject, ":.") {
		return DefaultContext, subject
	}
	end := strings.IndexByte(subject[2:], ':')
	if end < 0 {
		return DefaultContext, subject
	}
	ctx := subject[1 : 2+end]
	if ctx == DefaultContext {
		return DefaultContext, subject[3+end:]
	}
	return ctx, subject[3+end:]
}

// contextOf returns the context of a subject name.
func contextOf(subject string) string {
	ctx, _ := SplitSubject(subject)
	return ctx
}

// qualify returns subject in the context ctx when subject names no context of its own (a
// reference's subject is relative to the referring subject's context, as in Confluent).
func qualify(ctx, subject string) string {
	if ctx == DefaultContext || strings.HasPrefix(subject, ":.") {
		return subject
	}
	return ":" + ctx + ":" + subject
}

// contextPrefix is the subject prefix of a context (":.orders:"), empty for the default context.
func contextPrefix(ctx string) string {
	if ctx == DefaultContext {
		return ""
	}
	return ":" + ctx + ":"
}
