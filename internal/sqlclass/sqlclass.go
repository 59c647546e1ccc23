// Package sqlclass classes SQL text for sqlite3-safe's interceptor: which
// lock a statement needs, whether it controls a transaction, and whether it
// may not run at all. It reads the text alone; where the text cannot tell
// (Class.Ask), the caller asks SQLite (sqlite3_stmt_readonly) itself.
package sqlclass

import "strings"

// Class is what the interceptor must do around a statement: which lock it
// needs, and what it may not do.
// It is computed from the SQL text alone; where the text cannot tell
// (Ask), SQLite's own answer, sqlite3_stmt_readonly, decides.
type Class struct {
	// Write: the statement needs the write lock when run outside a
	// transaction. Set for statements that modify the database, that begin
	// a transaction, and for everything not known to be a read.
	Write bool
	// Ask: the text alone cannot tell (a WITH whose main statement may
	// write); prepare it and ask sqlite3_stmt_readonly.
	Ask bool
	// TxControl: the text holds BEGIN, SAVEPOINT, COMMIT, END, ROLLBACK or
	// RELEASE, so the connection's transaction state must be read back
	// after it runs.
	TxControl bool
	// PlainBegin: the whole text is one BEGIN [DEFERRED] [TRANSACTION],
	// which the interceptor runs as BEGIN IMMEDIATE.
	PlainBegin bool
	// Forbidden, if not "", is why the text may not run on a WAL database
	// under sqlite3-safe: a PRAGMA that takes the main database out of WAL
	// (PRAGMA journal_mode=X without a schema sets every database's) or
	// locks other connections out.
	Forbidden string
	// journalModes holds the text's JournalModes, each as schema and
	// mode followed by a NUL (a string keeps Class comparable); "" for
	// almost every text.
	journalModes string
	// SP and SPName: the whole text is one SAVEPOINT, RELEASE or
	// ROLLBACK TO of the savepoint SPName.
	SP     SavepointOp
	SPName string
	// Attach: the text holds an ATTACH. SQLite compiles some statements
	// (BEGIN IMMEDIATE, an ANALYZE or PRAGMA of every database) for the
	// databases attached when they are compiled, and an ATTACH does not
	// make statements compiled before it compile again.
	Attach bool
}

// JournalMode is a PRAGMA that sets the journal mode of one schema.
type JournalMode struct {
	Schema string // as written, unquoted
	Mode   string // as written, unquoted
}

// JournalModes returns the PRAGMA schema.journal_mode=X (X not WAL) of
// the text for a schema other than main: allowed, as an attached
// database's journal mode is the application's, unless the schema is the
// main database's file attached again, which only the connection can
// tell. Nil for almost every text.
func (c Class) JournalModes() []JournalMode {
	var out []JournalMode
	for rest := c.journalModes; rest != ""; {
		var schema, mode string
		schema, rest, _ = strings.Cut(rest, "\x00")
		mode, rest, _ = strings.Cut(rest, "\x00")
		out = append(out, JournalMode{Schema: schema, Mode: mode})
	}
	return out
}

// PlainRead reports a statement that needs no lock in WAL mode and leaves
// the transaction state alone.
func (c Class) PlainRead() bool { return !c.Write && !c.Ask && !c.TxControl }

// SavepointOp is a savepoint statement.
type SavepointOp uint8

const (
	NotSavepoint SavepointOp = iota // not one of these
	Savepoint                       // SAVEPOINT name
	Release                         // RELEASE [SAVEPOINT] name
	RollbackTo                      // ROLLBACK [TRANSACTION] TO [SAVEPOINT] name
)

// Classify scans query once: whitespace and comments are skipped, string
// literals and quoted names are stepped over, and each statement of a
// multi-statement string is classed by its leading keywords. The result is
// a write if any statement is, and never says "read" for a statement that is
// not known to be one: when unsure, write.
func Classify(query string) Class {
	var c Class
	s := scanner{src: query}
	statements := 0
	for {
		st := s.statement()
		if st.empty {
			if s.done() {
				break
			}
			continue
		}
		statements++
		c.Write = c.Write || st.Write
		c.Ask = c.Ask || st.Ask
		c.TxControl = c.TxControl || st.TxControl
		c.Attach = c.Attach || st.Attach
		c.journalModes += st.journalModes
		c.PlainBegin = st.PlainBegin
		c.SP, c.SPName = st.SP, st.SPName
		if c.Forbidden == "" {
			c.Forbidden = st.Forbidden
		}
		if s.done() {
			break
		}
	}
	if statements != 1 {
		c.PlainBegin = false
		c.SP, c.SPName = NotSavepoint, ""
		// A statement SQLite must be asked about, inside a multi-statement
		// string, is not worth preparing part by part: treat it as a write.
		if c.Ask {
			c.Ask, c.Write = false, true
		}
	}
	return c
}

// stmtClass is the class of one statement, as the scanner sees it.
type stmtClass struct {
	Class
	empty bool // only whitespace, comments or ';'
}

// scanner walks SQL text. It understands just enough of SQLite's lexical
// rules (https://www.sqlite.org/lang_keywords.html, lang_comment.html) to
// find statement boundaries and leading keywords.
type scanner struct {
	src string
	pos int
}

func (s *scanner) done() bool { return s.pos >= len(s.src) }

// skipSpace steps over whitespace and comments.
func (s *scanner) skipSpace() {
	for s.pos < len(s.src) {
		ch := s.src[s.pos]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			s.pos++
		case ch == '-' && s.pos+1 < len(s.src) && s.src[s.pos+1] == '-':
			nl := strings.IndexByte(s.src[s.pos:], '\n')
			if nl < 0 {
				s.pos = len(s.src)
			} else {
				s.pos += nl + 1
			}
		case ch == '/' && s.pos+1 < len(s.src) && s.src[s.pos+1] == '*':
			end := strings.Index(s.src[s.pos+2:], "*/")
			if end < 0 {
				s.pos = len(s.src)
			} else {
				s.pos += 2 + end + 2
			}
		default:
			return
		}
	}
}

// word returns the next token if it is a bare word (keyword or unquoted
// name), else "". It does not step over anything that is not a word.
func (s *scanner) word() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.src) {
		ch := s.src[s.pos]
		if ch == '_' || ch == '$' || ch >= 0x80 ||
			('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') ||
			(s.pos > start && '0' <= ch && ch <= '9') {
			s.pos++
			continue
		}
		break
	}
	return s.src[start:s.pos]
}

// name returns the next token as a name: a bare word or a quoted name
// ("x", `x`, [x]), unquoted. It returns "" if the next token is neither.
func (s *scanner) name() string {
	s.skipSpace()
	if s.pos >= len(s.src) {
		return ""
	}
	switch q := s.src[s.pos]; q {
	case '"', '`', '[':
		closer := q
		if q == '[' {
			closer = ']'
		}
		start := s.pos + 1
		s.skipQuoted(closer)
		end := s.pos - 1
		if end < start {
			end = start
		}
		return s.src[start:end]
	}
	return s.word()
}

// peek returns the next significant byte without consuming it, or 0.
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

// skipQuoted steps over a quoted token that starts at s.pos and ends at
// closer; a doubled closer inside is an escaped one.
func (s *scanner) skipQuoted(closer byte) {
	s.pos++ // opening quote
	for s.pos < len(s.src) {
		i := strings.IndexByte(s.src[s.pos:], closer)
		if i < 0 {
			s.pos = len(s.src)
			return
		}
		s.pos += i + 1
		if closer != ']' && s.pos < len(s.src) && s.src[s.pos] == closer {
			s.pos++ // doubled: escaped, keep going
			continue
		}
		return
	}
}

// skipToEnd steps past the rest of the current statement: up to and
// including the next ';' outside quotes and comments.
func (s *scanner) skipToEnd() {
	for s.pos < len(s.src) {
		switch ch := s.src[s.pos]; ch {
		case ';':
			s.pos++
			return
		case '\'', '"', '`':
			s.skipQuoted(ch)
		case '[':
			s.skipQuoted(']')
		case '-', '/':
			before := s.pos
			s.skipSpace()
			if s.pos == before {
				s.pos++
			}
		case '$', '@', ':', '#':
			s.skipVariable()
		case '?':
			// ?NNN: digits only, so that ?1$a(...) is two parameters.
			for s.pos++; s.pos < len(s.src) && '0' <= s.src[s.pos] && s.src[s.pos] <= '9'; s.pos++ {
			}
		default:
			if strings.HasPrefix(s.src[s.pos:], "\xEF\xBB\xBF") {
				s.pos += 3 // a BOM where a token starts: SQLite skips it as space
			} else if isIDChar(ch) {
				// A name, keyword or number: step over all of it, so that
				// a '$' inside a name (a$b) is not taken for a parameter.
				for s.pos < len(s.src) && isIDChar(s.src[s.pos]) {
					s.pos++
				}
			} else {
				s.pos++
			}
		}
	}
}

// skipVariable steps over a parameter that starts at s.pos with '$', '@',
// ':' or '#', exactly as SQLite's tokenizer (sqlite3GetToken, CC_DOLLAR and
// CC_VARALPHA) does. A TCL-style parameter, $name(...) or $a::b(...), is
// one token up to the first ')' or whitespace, quotes and comment starts
// included. Taking its quote for the start of a string once made
// `SELECT $a(');DELETE FROM t;--')` one read-only statement to the
// classifier, while SQLite, given an argument, ran the DELETE after it.
func (s *scanner) skipVariable() {
	i, n := s.pos+1, 0
	for i < len(s.src) {
		c := s.src[i]
		if isIDChar(c) {
			n++
			i++
			continue
		}
		if c == '(' && n > 0 {
			i++
			for i < len(s.src) && s.src[i] != 0 && !isSQLiteSpace(s.src[i]) && s.src[i] != ')' {
				i++
			}
			if i < len(s.src) && s.src[i] == ')' {
				i++
			}
			break
		}
		if c == ':' && i+1 < len(s.src) && s.src[i+1] == ':' {
			i += 2
			continue
		}
		break
	}
	s.pos = i
}

// isIDChar is SQLite's IdChar: a byte that may appear in a name.
func isIDChar(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// isSQLiteSpace is sqlite3Isspace.
func isSQLiteSpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r')
}

// statement classes the statement at s.pos and steps past it.
func (s *scanner) statement() stmtClass {
	var st stmtClass
	s.skipSpace()
	if s.done() {
		st.empty = true
		return st
	}
	if s.src[s.pos] == ';' {
		s.pos++
		st.empty = true
		return st
	}
	first := s.word()
	switch {
	case first == "":
		// Not a keyword: a parenthesis, a literal, garbage. SQLite will
		// reject most of it; whatever it is, it is not known to be a read.
		st.Write = true
	case eq(first, "SELECT"), eq(first, "VALUES"), eq(first, "EXPLAIN"):
		// EXPLAIN compiles its statement but never runs it.
	case eq(first, "WITH"):
		// The main statement after the CTEs may be INSERT, UPDATE or DELETE.
		st.Ask = true
	case eq(first, "BEGIN"):
		st.Write, st.TxControl = true, true
		st.PlainBegin = s.plainBeginTail()
	case eq(first, "SAVEPOINT"):
		// Outside a transaction it opens one.
		st.Write, st.TxControl = true, true
		st.SP, st.SPName = Savepoint, s.name()
	case eq(first, "RELEASE"):
		st.TxControl = true
		st.SP, st.SPName = Release, s.savepointName()
	case eq(first, "ROLLBACK"):
		st.TxControl = true
		w := s.word()
		if eq(w, "TRANSACTION") {
			w = s.word()
		}
		if eq(w, "TO") {
			st.SP, st.SPName = RollbackTo, s.savepointName()
		}
	case eq(first, "COMMIT"), eq(first, "END"):
		// These end a transaction: they need no lock of their own, but
		// the transaction state must be read back.
		st.TxControl = true
	case eq(first, "ATTACH"):
		st.Write, st.Attach = true, true
	case eq(first, "PRAGMA"):
		var read bool
		var jm JournalMode
		read, st.Forbidden, jm = s.pragma()
		if jm.Schema != "" {
			st.journalModes = jm.Schema + "\x00" + jm.Mode + "\x00"
		}
		st.Write = !read
	default:
		// INSERT, UPDATE, DELETE, REPLACE, CREATE, DROP, ALTER, VACUUM,
		// REINDEX, ANALYZE, DETACH and anything unknown.
		st.Write = true
	}
	s.skipToEnd()
	return st
}

// plainBeginTail reports whether what follows BEGIN makes a deferred
// transaction: BEGIN [DEFERRED] [TRANSACTION [name]] and nothing else.
func (s *scanner) plainBeginTail() bool {
	w := s.word()
	if eq(w, "DEFERRED") {
		w = s.word()
	} else if eq(w, "IMMEDIATE") || eq(w, "EXCLUSIVE") {
		return false
	}
	if eq(w, "TRANSACTION") {
		s.name() // optional transaction name, ignored by SQLite
		w = ""
	}
	if w != "" {
		return false
	}
	switch s.peek() {
	case 0, ';':
		return true
	}
	return false
}

// savepointName reads "[SAVEPOINT] name".
func (s *scanner) savepointName() string {
	n := s.name()
	if eq(n, "SAVEPOINT") {
		n = s.name()
	}
	return n
}

// pragma reads the PRAGMA at s.pos (after the keyword): read reports that
// it is known not to modify the database file; forbidden, that it would
// take the main database out of WAL mode or lock other connections out;
// jm, a journal mode set for a schema other than main (see
// Class.JournalModes).
func (s *scanner) pragma() (read bool, forbidden string, jm JournalMode) {
	schema, name := "", s.pragmaName()
	if s.peek() == '.' { // schema.name
		s.pos++
		schema, name = name, s.pragmaName()
	}
	if name == "" {
		return false, "", jm
	}
	name = strings.ToLower(name)
	switch s.peek() {
	case '=', '(':
		s.pos++
		value := s.pragmaName()
		switch {
		case name == "journal_mode" && !strings.EqualFold(value, "WAL"):
			if schema == "" || strings.EqualFold(schema, "main") {
				forbidden = "PRAGMA journal_mode=" + value + " would take the database out of the WAL mode sqlite3-safe relies on"
			} else {
				jm = JournalMode{Schema: schema, Mode: value}
			}
		case name == "locking_mode" && strings.EqualFold(value, "EXCLUSIVE"):
			forbidden = "PRAGMA locking_mode=EXCLUSIVE would lock every other connection of the pool out"
		}
		return pragmaReadWithArg[name], forbidden, jm
	case 0, ';':
		return pragmaReadNoArg[name], "", jm
	}
	return false, "", jm
}

// pragmaName reads a name as a PRAGMA takes it: a name (see name), or a
// string literal ('x'), which SQLite takes there as a name too.
func (s *scanner) pragmaName() string {
	n := s.name()
	if n == "" && s.pos < len(s.src) && s.src[s.pos] == '\'' {
		start := s.pos + 1
		s.skipQuoted('\'')
		n = strings.ReplaceAll(s.src[start:max(start, s.pos-1)], "''", "'")
	}
	return n
}

// pragmaReadNoArg lists pragmas that, without an argument, only report.
// Anything missing (optimize, incremental_vacuum, wal_checkpoint, shrink_memory,
// and every pragma SQLite adds later) is treated as a write.
var pragmaReadNoArg = toSet(
	"analysis_limit", "application_id", "auto_vacuum", "automatic_index", "busy_timeout",
	"cache_size", "cache_spill", "case_sensitive_like", "cell_size_check", "checkpoint_fullfsync",
	"collation_list", "compile_options", "data_version", "database_list", "defer_foreign_keys",
	"encoding", "foreign_key_check", "foreign_key_list", "foreign_keys", "freelist_count",
	"fullfsync", "function_list", "hard_heap_limit", "ignore_check_constraints", "integrity_check",
	"journal_mode", "journal_size_limit", "legacy_alter_table", "locking_mode", "max_page_count",
	"mmap_size", "module_list", "page_count", "page_size", "pragma_list", "query_only",
	"quick_check", "read_uncommitted", "recursive_triggers", "reverse_unordered_selects",
	"schema_version", "secure_delete", "soft_heap_limit", "synchronous", "table_list",
	"temp_store", "threads", "trusted_schema", "user_version", "wal_autocheckpoint",
)

// pragmaReadWithArg lists pragmas that, with an argument, still do not
// modify the database file: queries about a table or index, checks, and
// settings that live only in the connection. Setting user_version,
// journal_mode, page_size, auto_vacuum and the like is a write.
var pragmaReadWithArg = toSet(
	// questions
	"foreign_key_check", "foreign_key_list", "index_info", "index_list", "index_xinfo",
	"integrity_check", "quick_check", "table_info", "table_list", "table_xinfo",
	// connection-local settings
	"analysis_limit", "automatic_index", "busy_timeout", "cache_size", "cache_spill",
	"case_sensitive_like", "cell_size_check", "defer_foreign_keys", "foreign_keys",
	"hard_heap_limit", "ignore_check_constraints", "legacy_alter_table", "query_only",
	"read_uncommitted", "recursive_triggers", "reverse_unordered_selects", "soft_heap_limit",
	"threads", "trusted_schema",
)

func toSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// eq is an ASCII case-insensitive comparison against an upper-case keyword.
func eq(word, upper string) bool {
	if len(word) != len(upper) {
		return false
	}
	for i := 0; i < len(word); i++ {
		ch := word[i]
		if 'a' <= ch && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		if ch != upper[i] {
			return false
		}
	}
	return true
}

// MayBePragma reports whether query holds "pragma" in any case: a text
// without it is never Forbidden, so a caller can skip Classify for it.
func MayBePragma(query string) bool {
	for i := 0; i+6 <= len(query); i++ {
		if ch := query[i]; (ch == 'p' || ch == 'P') && eq(query[i:i+6], "PRAGMA") {
			return true
		}
	}
	return false
}
