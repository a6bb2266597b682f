package records

// Goal: whatever bytes a client sends, Validate neither panics nor hangs,
// refuses with one of the four codes it may use, leaves the batch
// untouched, answers the same on a reused Validator as on a fresh one, and
// never accepts what kmsg's record codec (the way kgo reads records)
// cannot decode into the records Info describes.
//
// Run it with:
//
//	go test ./broker/records -run '^$' -fuzz FuzzValidate -fuzztime 5m
//
// The seeds (a batch per codec, plus damaged ones) run with plain go test.
// fixCRC lets the fuzzer reach past the CRC: when set, the CRC is
// recomputed over the mutated bytes before validating.

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage"
)

// fuzzBound keeps each input fast.
const fuzzBound = 1 << 20

// fuzzReused is the Validator reused across one fuzz worker's inputs.
var fuzzReused = NewValidator(fuzzBound)

func FuzzValidate(f *testing.F) {
	for _, codec := range allCodecs {
		f.Add(build(f, codec, nRecords(5, 8)), false, false, false)
	}
	future := rec("", "v")
	future.TimestampDelta64 = 1 << 40
	f.Add(build(f, CodecNone, []kmsg.Record{future}), true, false, false)
	f.Add(build(f, CodecZstd, three())[:70], false, false, true)
	f.Add([]byte{}, false, false, false)
	f.Fuzz(func(t *testing.T, batch []byte, compacted, logAppendTime, fixCRC bool) {
		if fixCRC && len(batch) >= storage.BatchHeaderSize {
			reseal(batch)
		}
		cfg := DefaultConfig()
		cfg.Compacted, cfg.LogAppendTime = compacted, logAppendTime
		given := append([]byte(nil), batch...)
		info, err := NewValidator(fuzzBound).Validate(batch, cfg, testNow)
		if !bytes.Equal(given, batch) {
			t.Fatal("Validate modified the batch")
		}
		again, errAgain := fuzzReused.Validate(batch, cfg, testNow)
		if again != info || (err == nil) != (errAgain == nil) || (err != nil && err.Error() != errAgain.Error()) {
			t.Fatalf("reused validator disagrees: %+v %v, fresh %+v %v", again, errAgain, info, err)
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkAccepted(t, batch, info, compacted)
	})
}

func checkRefusal(t *testing.T, err error) {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("refusal %v is not an *Error", err)
	}
	switch e.Kafka {
	case kerr.CorruptMessage, kerr.InvalidRecord, kerr.InvalidTimestamp, kerr.MessageTooLarge:
	default:
		t.Fatalf("unexpected code %v", err)
	}
}

// checkAccepted decodes an accepted batch with kmsg and compares.
func checkAccepted(t *testing.T, batch []byte, info Info, compacted bool) {
	recs, err := kmsgRecords(batch)
	if err != nil {
		t.Fatalf("accepted, but kmsg cannot decode it: %v", err)
	}
	if len(recs) != int(info.RecordCount) || info.LastOffsetDelta != info.RecordCount-1 {
		t.Fatalf("accepted %+v, kmsg decodes %d records", info, len(recs))
	}
	for i, r := range recs {
		if r.OffsetDelta != int32(i) || (compacted && r.Key == nil) {
			t.Fatalf("accepted record %d: %+v", i, r)
		}
	}
	if _, err := ProduceBatch(batch, 12); err != nil {
		t.Fatalf("accepted, but its framing is refused: %v", err)
	}
}
