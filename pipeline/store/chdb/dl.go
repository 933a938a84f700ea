package chdb

// The engine is loaded with dlopen so that building livepulse never needs
// libchdb.so (566 MB) or its header: the few types below mirror chdb.h
// (chdb-io/chdb-core programs/local/chdb.h, 26.7) and every call goes through
// a function pointer resolved with dlsym.
//
// No call is tied to an OS thread (the engine runs statements on its own
// threads), so goroutines are not locked to threads; the calls of one insert
// stream may come from different threads.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Opaque handles: we only ever hold pointers to them.
typedef struct lp_result_ { void *internal_data; } lp_result;        // chdb_result
typedef struct lp_conn_ { void *internal_data; } *lp_conn;           // chdb_connection
typedef struct lp_insert_ { void *internal_data; } *lp_insert;       // chdb_insert_stream

// chdb_query_analysis_v1, versioned by struct_size.
typedef struct lp_analysis {
	uint32_t struct_size;
	uint32_t statement_count;
	uint32_t flags;
	uint32_t query_class;
} lp_analysis;

typedef const char *(*lp_version_fn)(void);
typedef void (*lp_set_signals_fn)(int);
typedef void (*lp_reset_signals_fn)(void);
typedef lp_conn *(*lp_connect_fn)(int, char **);
typedef void (*lp_close_fn)(lp_conn *);
typedef lp_result *(*lp_query_n_fn)(lp_conn, const char *, size_t, const char *, size_t);
typedef void (*lp_destroy_result_fn)(lp_result *);
typedef char *(*lp_result_buffer_fn)(lp_result *);
typedef size_t (*lp_result_length_fn)(lp_result *);
typedef double (*lp_result_double_fn)(lp_result *);
typedef uint64_t (*lp_result_u64_fn)(lp_result *);
typedef const char *(*lp_result_error_fn)(lp_result *);
typedef lp_insert (*lp_stream_insert_n_fn)(lp_conn, const char *, size_t, const char *, size_t);
typedef int (*lp_stream_append_fn)(lp_insert, const void *, size_t);
typedef lp_result *(*lp_stream_done_fn)(lp_insert);
typedef void (*lp_stream_cancel_fn)(lp_insert);
typedef const char *(*lp_stream_error_fn)(lp_insert);
typedef void (*lp_stream_destroy_fn)(lp_insert);
typedef int (*lp_classify_fn)(lp_conn, const char *, size_t, const char *, size_t, lp_analysis *);

static struct {
	lp_version_fn version;
	lp_set_signals_fn set_signal_handlers_enabled;
	lp_reset_signals_fn reset_signal_handlers;
	lp_connect_fn connect;
	lp_close_fn close_conn;
	lp_query_n_fn query_n;
	lp_destroy_result_fn destroy_query_result;
	lp_result_buffer_fn result_buffer;
	lp_result_length_fn result_length;
	lp_result_double_fn result_elapsed;
	lp_result_u64_fn result_rows_read;
	lp_result_u64_fn result_bytes_read;
	lp_result_u64_fn result_storage_rows_read;
	lp_result_u64_fn result_storage_bytes_read;
	lp_result_u64_fn result_rows_written;
	lp_result_u64_fn result_bytes_written;
	lp_result_error_fn result_error;
	lp_stream_insert_n_fn stream_insert_n;
	lp_stream_append_fn stream_append;
	lp_stream_done_fn stream_done;
	lp_stream_cancel_fn stream_cancel_insert;
	lp_stream_error_fn stream_insert_error;
	lp_stream_destroy_fn destroy_insert_stream;
	lp_classify_fn classify_query_n;
} lp;

// lp_load dlopens path and resolves every symbol. It returns NULL on success,
// else a malloc'ed message (the caller frees it). Called once per process,
// under a Go mutex.
static char *lp_load(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		return strdup(e ? e : "dlopen failed");
	}
#define LP_SYM(field, name) \
	do { \
		*(void **)(&lp.field) = dlsym(h, name); \
		if (lp.field == NULL) { \
			dlclose(h); \
			memset(&lp, 0, sizeof lp); \
			return strdup("missing symbol " name); \
		} \
	} while (0)
	LP_SYM(version, "chdb_version");
	LP_SYM(set_signal_handlers_enabled, "chdb_set_signal_handlers_enabled");
	LP_SYM(reset_signal_handlers, "chdb_reset_signal_handlers");
	LP_SYM(connect, "chdb_connect");
	LP_SYM(close_conn, "chdb_close_conn");
	LP_SYM(query_n, "chdb_query_n");
	LP_SYM(destroy_query_result, "chdb_destroy_query_result");
	LP_SYM(result_buffer, "chdb_result_buffer");
	LP_SYM(result_length, "chdb_result_length");
	LP_SYM(result_elapsed, "chdb_result_elapsed");
	LP_SYM(result_rows_read, "chdb_result_rows_read");
	LP_SYM(result_bytes_read, "chdb_result_bytes_read");
	LP_SYM(result_storage_rows_read, "chdb_result_storage_rows_read");
	LP_SYM(result_storage_bytes_read, "chdb_result_storage_bytes_read");
	LP_SYM(result_rows_written, "chdb_result_rows_written");
	LP_SYM(result_bytes_written, "chdb_result_bytes_written");
	LP_SYM(result_error, "chdb_result_error");
	LP_SYM(stream_insert_n, "chdb_stream_insert_n");
	LP_SYM(stream_append, "chdb_stream_append");
	LP_SYM(stream_done, "chdb_stream_done");
	LP_SYM(stream_cancel_insert, "chdb_stream_cancel_insert");
	LP_SYM(stream_insert_error, "chdb_stream_insert_error");
	LP_SYM(destroy_insert_stream, "chdb_destroy_insert_stream");
	LP_SYM(classify_query_n, "chdb_classify_query_n");
#undef LP_SYM
	return NULL;
}

// Trampolines: cgo cannot call a C function pointer directly.
static const char *lp_version(void) { return lp.version(); }

// lp_connect connects with chDB's process-wide signal handlers disabled: it
// would otherwise install its own SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGABRT/SIGTSTP
// handlers over the Go runtime's, after which a recovered Go nil-pointer panic
// hangs the process. As a safety net, any handler that still changed across
// the call is put back; *restored counts them.
static lp_conn *lp_connect(int argc, char **argv, int *restored) {
	struct sigaction saved[32];
	for (int s = 1; s < 32; s++) sigaction(s, NULL, &saved[s]);
	lp.set_signal_handlers_enabled(0);
	lp_conn *c = lp.connect(argc, argv);
	lp.reset_signal_handlers();
	*restored = 0;
	for (int s = 1; s < 32; s++) {
		struct sigaction now;
		if (sigaction(s, NULL, &now) != 0) continue;
		if (now.sa_sigaction != saved[s].sa_sigaction || now.sa_flags != saved[s].sa_flags) {
			sigaction(s, &saved[s], NULL);
			(*restored)++;
		}
	}
	return c;
}
static void lp_close_conn(lp_conn *c) { lp.close_conn(c); }

static lp_result *lp_query_n(lp_conn *c, const char *q, size_t ql, const char *f, size_t fl) {
	return lp.query_n(*c, q, ql, f, fl);
}
static void lp_destroy_query_result(lp_result *r) { lp.destroy_query_result(r); }
static char *lp_result_buffer(lp_result *r) { return lp.result_buffer(r); }
static size_t lp_result_length(lp_result *r) { return lp.result_length(r); }
static const char *lp_result_error(lp_result *r) { return lp.result_error(r); }

typedef struct lp_stats {
	double elapsed;
	uint64_t rows_read, bytes_read;
	uint64_t storage_rows_read, storage_bytes_read;
	uint64_t rows_written, bytes_written;
} lp_stats;

// lp_result_stats gathers every counter in one cgo call.
static void lp_result_stats(lp_result *r, lp_stats *s) {
	s->elapsed = lp.result_elapsed(r);
	s->rows_read = lp.result_rows_read(r);
	s->bytes_read = lp.result_bytes_read(r);
	s->storage_rows_read = lp.result_storage_rows_read(r);
	s->storage_bytes_read = lp.result_storage_bytes_read(r);
	s->rows_written = lp.result_rows_written(r);
	s->bytes_written = lp.result_bytes_written(r);
}

static lp_insert lp_stream_insert_n(lp_conn *c, const char *q, size_t ql, const char *f, size_t fl) {
	return lp.stream_insert_n(*c, q, ql, f, fl);
}
static int lp_stream_append(lp_insert s, const void *p, size_t n) { return lp.stream_append(s, p, n); }
static lp_result *lp_stream_done(lp_insert s) { return lp.stream_done(s); }
static void lp_stream_cancel_insert(lp_insert s) { lp.stream_cancel_insert(s); }
static const char *lp_stream_insert_error(lp_insert s) { return lp.stream_insert_error(s); }
static void lp_destroy_insert_stream(lp_insert s) { lp.destroy_insert_stream(s); }

static int lp_classify_query_n(lp_conn *c, const char *q, size_t ql, lp_analysis *out) {
	memset(out, 0, sizeof *out);
	out->struct_size = sizeof *out;
	return lp.classify_query_n(*c, q, ql, NULL, 0, out);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

const haveCgo = true

// dlopenLibrary loads libchdb.so and resolves its symbols. Not safe to call
// concurrently; the caller holds proc.mu.
func dlopenLibrary(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.lp_load(cpath); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return errors.New(C.GoString(msg))
	}
	return nil
}

func libVersion() string { return C.GoString(C.lp_version()) }

// cconn is a chdb_connection* as returned by chdb_connect.
type cconn = *C.lp_conn

// connect opens one connection with argv (argv[0] is the program name),
// keeping the Go runtime's signal handlers (see lp_connect). restored counts
// handlers chDB changed anyway and that were put back.
func connect(argv []string) (c cconn, restored int, err error) {
	cargv := C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
	defer C.free(cargv)
	args := unsafe.Slice((**C.char)(cargv), len(argv))
	for i, a := range argv {
		args[i] = C.CString(a)
	}
	defer func() {
		for _, a := range args {
			C.free(unsafe.Pointer(a))
		}
	}()
	var n C.int
	c = C.lp_connect(C.int(len(argv)), (**C.char)(cargv), &n)
	if c == nil {
		return nil, int(n), errors.New("chdb: chdb_connect failed (e.g. an invalid setting value, or the data dir is in use by another process; the engine may have printed why on stderr)")
	}
	return c, int(n), nil
}

func closeConn(c cconn) { C.lp_close_conn(c) }

// cstr copies s into C memory. The engine documents that it does not keep the
// query text, but copying keeps us clear of cgo pointer rules for strings.
func cstr(s string) (*C.char, C.size_t) {
	return C.CString(s), C.size_t(len(s))
}

// takeResult copies out and frees r (always, also on error).
func takeResult(r *C.lp_result, wantData bool) ([]byte, Stats, error) {
	if r == nil {
		return nil, Stats{}, errors.New("chdb: engine returned no result")
	}
	defer C.lp_destroy_query_result(r)
	if msg := C.lp_result_error(r); msg != nil {
		if err := newError(C.GoString(msg)); err != nil {
			return nil, Stats{}, err
		}
	}
	var s C.lp_stats
	C.lp_result_stats(r, &s)
	st := Stats{
		Elapsed:          time.Duration(float64(s.elapsed) * float64(time.Second)),
		RowsRead:         uint64(s.rows_read),
		BytesRead:        uint64(s.bytes_read),
		StorageRowsRead:  uint64(s.storage_rows_read),
		StorageBytesRead: uint64(s.storage_bytes_read),
		RowsWritten:      uint64(s.rows_written),
		BytesWritten:     uint64(s.bytes_written),
	}
	if !wantData {
		return nil, st, nil
	}
	n := int(C.lp_result_length(r))
	buf := C.lp_result_buffer(r)
	if n == 0 || buf == nil {
		return []byte{}, st, nil
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(buf)), n))
	return out, st, nil
}

func query(c cconn, sql, format string) ([]byte, Stats, error) {
	q, ql := cstr(sql)
	defer C.free(unsafe.Pointer(q))
	f, fl := cstr(format)
	defer C.free(unsafe.Pointer(f))
	return takeResult(C.lp_query_n(c, q, ql, f, fl), true)
}

// insertStream is an open chdb_stream_insert handle.
type insertStream struct{ s C.lp_insert }

func streamInsert(c cconn, insert, format string) (*insertStream, error) {
	q, ql := cstr(insert)
	defer C.free(unsafe.Pointer(q))
	f, fl := cstr(format)
	defer C.free(unsafe.Pointer(f))
	s := C.lp_stream_insert_n(c, q, ql, f, fl)
	if s == nil { // documented never to happen
		return nil, errors.New("chdb: chdb_stream_insert returned no stream")
	}
	st := &insertStream{s}
	if err := st.err(); err != nil {
		st.destroy()
		return nil, err
	}
	return st, nil
}

func (st *insertStream) err() error {
	if msg := C.lp_stream_insert_error(st.s); msg != nil {
		return newError(C.GoString(msg))
	}
	return nil
}

// append passes chunk straight from Go memory: chdb_stream_append copies it
// before returning (documented), so C never keeps the Go pointer and the
// chunk holds no Go pointers.
func (st *insertStream) append(chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	if C.lp_stream_append(st.s, unsafe.Pointer(&chunk[0]), C.size_t(len(chunk))) != 0 {
		if err := st.err(); err != nil {
			return err
		}
		return errors.New("chdb: chdb_stream_append failed")
	}
	return nil
}

func (st *insertStream) done() (Stats, error) {
	_, s, err := takeResult(C.lp_stream_done(st.s), false)
	return s, err
}

func (st *insertStream) cancel()  { C.lp_stream_cancel_insert(st.s) }
func (st *insertStream) destroy() { C.lp_destroy_insert_stream(st.s) }

func classify(c cconn, sql string) (Analysis, error) {
	q, ql := cstr(sql)
	defer C.free(unsafe.Pointer(q))
	var a C.lp_analysis
	if C.lp_classify_query_n(c, q, ql, &a) != 0 {
		return Analysis{}, fmt.Errorf("chdb: chdb_classify_query_n failed")
	}
	return Analysis{
		Class:      Class(a.query_class),
		Statements: int(a.statement_count),
		Flags:      Flag(a.flags),
	}, nil
}
