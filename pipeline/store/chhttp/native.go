package chhttp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

func isNative(format string) bool { return strings.EqualFold(format, "Native") }

// reencodeNative rewrites the engine's Native output, which has the layout of protocol revision
// 0 (the engine knows no client_protocol_version), at the client's revision: what a ClickHouse
// server does when the HTTP request carries client_protocol_version (clickhouse-go always sends
// it and decodes at the revision the server reported). Uses clickhouse-go's own block codec.
func reencodeNative(out []byte, revision uint64) ([]byte, error) {
	r := chproto.NewReader(bytes.NewReader(out))
	sc := column.ServerContext{Timezone: time.UTC}
	var buf chproto.Buffer
	for {
		b := proto.Block{ServerContext: &sc}
		if err := b.Decode(r, 0); err != nil {
			if errors.Is(err, io.EOF) {
				return buf.Buf, nil
			}
			return nil, err
		}
		if err := b.Encode(&buf, revision); err != nil {
			return nil, err
		}
	}
}
