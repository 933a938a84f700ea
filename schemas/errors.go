package schemas

import "fmt"

// Reason classifies why a message is a dead letter. Values are stable: they label metrics and
// the dead_letters.reason column.
type Reason string

const (
	ReasonTooLarge        Reason = "too_large"        // over the configured size limit
	ReasonNotUTF8         Reason = "not_utf8"         // bytes are not valid UTF-8
	ReasonNotJSON         Reason = "not_json"         // not parseable JSON (or nested too deep)
	ReasonNotObject       Reason = "not_object"       // JSON, but not an object
	ReasonMissingField    Reason = "missing_field"    // a required field is absent or empty
	ReasonWrongType       Reason = "wrong_type"       // a field has the wrong JSON type
	ReasonBadValue        Reason = "bad_value"        // right type, value outside the contract
	ReasonUnknownAction   Reason = "unknown_action"   // viewer action not in join|leave|heartbeat|engage|count
	ReasonBadAmount       Reason = "bad_amount"       // amount malformed, sub-cent, or out of range
	ReasonNegativeAmount  Reason = "negative_amount"  // amount below zero
	ReasonBadTimestamp    Reason = "bad_timestamp"    // ts neither RFC 3339 nor integer Unix milliseconds
	ReasonFutureTimestamp Reason = "future_timestamp" // ts more than the allowed skew ahead of now
	ReasonStaleTimestamp  Reason = "stale_timestamp"  // ts older than the accepted horizon
)

// Reasons lists every reason, for metrics that should report zeros too.
var Reasons = []Reason{
	ReasonTooLarge, ReasonNotUTF8, ReasonNotJSON, ReasonNotObject, ReasonMissingField,
	ReasonWrongType, ReasonBadValue, ReasonUnknownAction, ReasonBadAmount, ReasonNegativeAmount,
	ReasonBadTimestamp, ReasonFutureTimestamp, ReasonStaleTimestamp,
}

// InvalidError is returned for a message that breaks the contract. It is a dead letter, not a
// failure of the pipeline.
type InvalidError struct {
	Kind   Kind
	Reason Reason
	Field  string // the offending field, "" when the message as a whole is bad
	Detail string // human-readable specifics
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid %s event: %s: %s", e.Kind, e.Reason, e.Detail)
	}
	return fmt.Sprintf("invalid %s event: %s: field %q: %s", e.Kind, e.Reason, e.Field, e.Detail)
}
