package simulate

import (
	"bytes"
	"strconv"

	"github.com/livepulse/livepulse/schemas"
)

// badShape is one way a producer gets a message wrong.
type badShape uint8

const (
	badTruncated      badShape = iota // cut off mid-object: not JSON
	badNotUTF8                        // a stray 0xFF byte in a string
	badMissingField                   // stream_id left out
	badWrongType                      // stream_id sent as a number
	badNegativeAmount                 // orders and refunds: a negative amount
	badUnknownAction                  // viewer events: an action outside the contract
	numBadShapes
)

// unknownActions are actions some client versions send that the contract does not know.
var unknownActions = []string{"gift", "superlike", "rejoin", "Heartbeat"}

// appendBad appends a malformed version of ev (which it may modify) and the reason the decoder
// will give for rejecting it. The shape is drawn from the generator's random sequence; shapes
// that do not apply to ev's kind are swapped for one that does.
func (g *Generator) appendBad(b []byte, ev *schemas.Event) ([]byte, schemas.Reason) {
	shape := badShape(g.rng.IntN(int(numBadShapes)))
	switch {
	case shape == badNegativeAmount && ev.Kind == schemas.KindViewer:
		shape = badUnknownAction
	case shape == badUnknownAction && ev.Kind != schemas.KindViewer:
		shape = badNegativeAmount
	}
	h := ev.Header()
	switch shape {
	case badTruncated:
		start := len(b)
		b = ev.AppendJSON(b)
		return b[:start+(len(b)-start)*2/3], schemas.ReasonNotJSON
	case badNotUTF8:
		start := len(b)
		b = ev.AppendJSON(b)
		b[start+len(`{"event_id":"`)] = 0xFF // inside the event_id value
		return b, schemas.ReasonNotUTF8
	case badMissingField:
		h.StreamID = ""
		return ev.AppendJSON(b), schemas.ReasonMissingField
	case badWrongType:
		h.StreamID = ""
		b = ev.AppendJSON(b)
		b = append(b[:len(b)-1], `,"stream_id":`...)
		return append(strconv.AppendUint(b, g.streamSeq, 10), '}'), schemas.ReasonWrongType
	case badNegativeAmount:
		if ev.Kind == schemas.KindOrder {
			ev.Order.Amount = -ev.Order.Amount
		} else {
			ev.Refund.Amount = -ev.Refund.Amount
		}
		return ev.AppendJSON(b), schemas.ReasonNegativeAmount
	default: // badUnknownAction
		start := len(b)
		b = ev.AppendJSON(b)
		return replaceAction(b, start, unknownActions[g.rng.IntN(len(unknownActions))]), schemas.ReasonUnknownAction
	}
}

// replaceAction replaces the value of the "action" field in the message at b[start:].
func replaceAction(b []byte, start int, action string) []byte {
	const field = `"action":"`
	i := bytes.Index(b[start:], []byte(field))
	if i < 0 {
		return b
	}
	valStart := start + i + len(field)
	valEnd := valStart + bytes.IndexByte(b[valStart:], '"')
	tail := append([]byte(nil), b[valEnd:]...)
	return append(append(b[:valStart], action...), tail...)
}
