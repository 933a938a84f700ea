package chhttp

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// ClickHouse error codes this server raises itself (src/Common/ErrorCodes.cpp).
const (
	codeLogicalError         = 49
	codeUnknownDatabase      = 81
	codeCannotParseInput     = 27
	codeSyntaxError          = 62
	codeReadonly             = 164
	codeRequiredPassword     = 194
	codeQueryTooLarge        = 202
	codeUnknownSetting       = 115
	codeNotImplemented       = 48
	codeAuthenticationFailed = 516
	codeStdException         = 1001
)

// Exception is a ClickHouse-style error.
type Exception struct {
	Code    int
	Name    string // e.g. UNKNOWN_TABLE; "" when unknown
	Message string
	Status  int // HTTP status; 0: the one ClickHouse uses for Code
}

func (e *Exception) Error() string { return e.Text() }

// Text is the body ClickHouse writes for an exception (without the version suffix).
func (e *Exception) Text() string {
	if e.Name != "" && !strings.Contains(e.Message, "("+e.Name+")") {
		return fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", e.Code, strings.TrimSuffix(e.Message, "."), e.Name)
	}
	return fmt.Sprintf("Code: %d. DB::Exception: %s", e.Code, e.Message)
}

func readOnlyException(detail string) *Exception {
	return &Exception{Code: codeReadonly, Name: "READONLY", Message: "Cannot execute query in readonly mode: " + detail}
}

// engineException matches the engine's own "Code: N. DB::Exception: message (NAME) (version …)",
// which the engine sometimes nests once ("Code: N. DB::Exception: Code: N. DB::Exception: …").
var engineException = regexp.MustCompile(`(?s)^(?:Code: \d+\. DB::Exception: )*Code: (\d+)\. DB::Exception: (.*?)(?: \(([A-Z_0-9]+)\))?(?: \(version [^)]*\))?\.?(?: \([A-Z_0-9]+\))?\s*$`)

// asException turns any error into the exception sent to the client.
func asException(err error) *Exception {
	var ex *Exception
	if errors.As(err, &ex) {
		return ex
	}
	var ce *chdb.Error
	if errors.As(err, &ce) {
		if m := engineException.FindStringSubmatch(ce.Message); m != nil {
			return &Exception{Code: ce.Code, Name: m[3], Message: m[2]}
		}
		return &Exception{Code: ce.Code, Message: ce.Message}
	}
	return &Exception{Code: codeStdException, Name: "STD_EXCEPTION", Message: err.Error()}
}

// httpStatus is the status ClickHouse's HTTP handler answers an exception code with
// (exceptionCodeToHTTPStatus in src/Server/HTTPHandler.cpp, the codes that matter here).
func httpStatus(code int) int {
	switch code {
	case codeRequiredPassword:
		return http.StatusUnauthorized
	case codeAuthenticationFailed, codeReadonly, 497 /* ACCESS_DENIED */ :
		return http.StatusForbidden
	case codeCannotParseInput, codeSyntaxError, 6 /* CANNOT_PARSE_TEXT */, 26, 38, 41, 53, 69, 70, 72, 130, 131:
		return http.StatusBadRequest
	case 46 /* UNKNOWN_FUNCTION */, 47 /* UNKNOWN_IDENTIFIER */, 50, 56, 60 /* UNKNOWN_TABLE */, 63, 73 /* UNKNOWN_FORMAT */, codeUnknownDatabase, codeUnknownSetting:
		return http.StatusNotFound
	case codeQueryTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeNotImplemented:
		return http.StatusNotImplemented
	case 159 /* TIMEOUT_EXCEEDED */ :
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}
