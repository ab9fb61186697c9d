package tabular

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// This file checks the parts of a Parquet file parquet-go trusts before it
// decodes them. Its Thrift decoder allocates what a length prefix claims:
// a 30-byte footer declaring a list of two billion row groups would make it
// allocate a terabyte, and the runtime's out-of-memory failure cannot be
// recovered — it would take the whole server down. Page headers are decoded
// the same way, and their sizes are allocated before the data behind them
// is read. So before parquet-go sees them, the footer and every page header
// are walked here without allocating, and refused when a length exceeds the
// bytes that remain or a limit.

// errThriftShort says a Thrift structure runs past the bytes at hand.
var errThriftShort = errors.New("thrift structure runs past its bytes")

// thriftSkimmer walks Thrift compact-protocol data without decoding it.
type thriftSkimmer struct {
	b          []byte
	pos        int
	depth      int
	structs    int // structures inside lists and maps, as a decoder would allocate them
	maxStructs int
}

const thriftMaxDepth = 64

// Thrift compact-protocol type codes.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI16       = 4
	tI32       = 5
	tI64       = 6
	tDouble    = 7
	tBinary    = 8
	tList      = 9
	tSet       = 10
	tMap       = 11
	tStruct    = 12
	tUUID      = 13
)

var (
	errThriftCorrupt = errors.New("malformed thrift data")
	errThriftStructs = errors.New("too many structures")
)

func (s *thriftSkimmer) remaining() int { return len(s.b) - s.pos }

func (s *thriftSkimmer) byte() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, errThriftShort
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *thriftSkimmer) skip(n int) error {
	if n < 0 {
		return errThriftCorrupt
	}
	if n > s.remaining() {
		return errThriftShort
	}
	s.pos += n
	return nil
}

func (s *thriftSkimmer) varint() (uint64, error) {
	v, n := binary.Uvarint(s.b[s.pos:])
	switch {
	case n == 0:
		return 0, errThriftShort
	case n < 0:
		return 0, errThriftCorrupt
	}
	s.pos += n
	return v, nil
}

// length reads a size prefix; a size beyond what remains is short input
// (windowed reads grow and retry; a whole footer is corrupt).
func (s *thriftSkimmer) length(minBytesEach int) (int, error) {
	v, err := s.varint()
	if err != nil {
		return 0, err
	}
	if v > uint64(s.remaining()/minBytesEach) {
		if v > 1<<31 {
			return 0, errThriftCorrupt
		}
		return 0, errThriftShort
	}
	return int(v), nil
}

// skimStruct walks one struct up to and including its stop byte.
func (s *thriftSkimmer) skimStruct() error {
	if s.depth++; s.depth > thriftMaxDepth {
		return errThriftCorrupt
	}
	defer func() { s.depth-- }()
	for {
		b, err := s.byte()
		if err != nil {
			return err
		}
		if b == 0 {
			return nil
		}
		if b>>4 == 0 { // field id in a following zigzag varint
			if _, err := s.varint(); err != nil {
				return err
			}
		}
		if err := s.skimValue(b&0x0f, false); err != nil {
			return err
		}
	}
}

func (s *thriftSkimmer) skimValue(typ byte, inList bool) error {
	switch typ {
	case tBoolTrue, tBoolFalse:
		if inList { // list elements carry the value in a byte
			return s.skip(1)
		}
		return nil
	case tByte:
		return s.skip(1)
	case tI16, tI32, tI64:
		_, err := s.varint()
		return err
	case tDouble:
		return s.skip(8)
	case tUUID:
		return s.skip(16)
	case tBinary:
		n, err := s.length(1)
		if err != nil {
			return err
		}
		return s.skip(n)
	case tList, tSet:
		h, err := s.byte()
		if err != nil {
			return err
		}
		elem := h & 0x0f
		n := int(h >> 4)
		if n == 0x0f {
			if n, err = s.length(1); err != nil {
				return err
			}
		} else if n > s.remaining() {
			return errThriftShort
		}
		if elem == tStruct {
			if s.structs += n; s.structs > s.maxStructs {
				return errThriftStructs
			}
		}
		for range n {
			if err := s.skimValue(elem, true); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := s.length(2)
		if err != nil || n == 0 {
			return err
		}
		kv, err := s.byte()
		if err != nil {
			return err
		}
		k, v := kv>>4, kv&0x0f
		if k == tStruct || v == tStruct {
			if s.structs += n; s.structs > s.maxStructs {
				return errThriftStructs
			}
		}
		for range n {
			if err := s.skimValue(k, true); err != nil {
				return err
			}
			if err := s.skimValue(v, true); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return s.skimStruct()
	}
	return errThriftCorrupt
}

// checkFooter reads the footer of the Parquet file and walks it, so that
// parquet.OpenFile decodes only a footer whose sizes are consistent and
// within the limits.
func checkFooter(ra io.ReaderAt, size int64, limits Limits) error {
	if size < 12 {
		return inputError("not a Parquet file: %d bytes is shorter than the smallest Parquet file", size)
	}
	var head, tail [8]byte
	if _, err := ra.ReadAt(head[:4], 0); err != nil {
		return readAtError(err)
	}
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		return readAtError(err)
	}
	switch {
	case string(head[:4]) == "PARE" || string(tail[4:]) == "PARE":
		return inputError("the Parquet file is encrypted; encrypted Parquet files cannot be profiled")
	case string(head[:4]) != parquetMagic || string(tail[4:]) != parquetMagic:
		return inputError("not a Parquet file: the PAR1 magic number is missing at its start or end")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return inputError("the Parquet footer claims %d bytes, more than the file holds (truncated file?)", n)
	}
	if n > int64(limits.MaxFooterBytes) {
		return limitError("the Parquet footer is %d bytes, more than the limit of %d", n, limits.MaxFooterBytes)
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-8-n); err != nil {
		return readAtError(err)
	}
	sk := thriftSkimmer{b: footer, maxStructs: limits.MaxFooterStructs}
	switch err := sk.skimStruct(); {
	case errors.Is(err, errThriftStructs):
		return limitError("the Parquet footer lists more than %d structures (schema elements, row groups, column chunks)", limits.MaxFooterStructs)
	case err != nil:
		return inputError("the Parquet footer is corrupt")
	}
	return nil
}

// readAtError classifies a failed ReadAt: running off the end of what the
// caller said is the file is a truncated or mis-sized file; anything else
// is the storage's failure.
func readAtError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return inputError("the Parquet file is shorter than its metadata says (truncated file?)")
	}
	return internalError(err, "reading the Parquet file")
}

// pageHeaderWindow is the first read for a page header; headers are tens of
// bytes unless they carry statistics, and the window grows to fit.
const pageHeaderWindow = 256

// maxPageHeaderBytes bounds one page header, statistics included.
const maxPageHeaderBytes = 16 << 20

// checkChunkPages walks the page headers of one column chunk and refuses
// sizes beyond the chunk or the limits, before parquet-go allocates them.
func checkChunkPages(ra io.ReaderAt, size int64, md *format.ColumnMetaData, limits Limits) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > size-8 || end < start {
		return errors.New("column chunk lies outside the file")
	}
	var hdr format.PageHeader
	var proto thrift.CompactProtocol
	buf := make([]byte, pageHeaderWindow)
	for off := start; off < end; {
		window := pageHeaderWindow
		var n int
		var w int64 // bytes of buf read from off
		for {
			w = min(int64(window), end-off)
			if int(w) > len(buf) {
				buf = make([]byte, w)
			}
			if _, err := ra.ReadAt(buf[:w], off); err != nil {
				return err
			}
			sk := thriftSkimmer{b: buf[:w], maxStructs: 1024}
			err := sk.skimStruct()
			if err == nil {
				n = sk.pos
				break
			}
			if !errors.Is(err, errThriftShort) || w == end-off || window >= maxPageHeaderBytes {
				return errors.New("malformed page header")
			}
			window *= 4
		}
		hdr = format.PageHeader{}
		if err := thrift.Unmarshal(&proto, buf[:n], &hdr); err != nil {
			return errors.New("malformed page header")
		}
		off += int64(n)
		comp, uncomp := int64(hdr.CompressedPageSize), int64(hdr.UncompressedPageSize)
		if comp < 0 || uncomp < 0 || comp > end-off {
			return errors.New("page sizes exceed the column chunk")
		}
		if comp > int64(limits.MaxPageBytes) || uncomp > int64(limits.MaxPageBytes) {
			return limitError("a page of %d bytes exceeds the limit of %d", max(comp, uncomp), limits.MaxPageBytes)
		}
		values, dataStart := int64(0), off
		switch {
		case hdr.DataPageHeader.Valid:
			values = int64(hdr.DataPageHeader.V.NumValues)
		case hdr.DataPageHeaderV2.Valid:
			v2 := hdr.DataPageHeaderV2.V
			values = int64(max(v2.NumValues, v2.NumRows, v2.NumNulls))
			levels := int64(v2.RepetitionLevelsByteLength) + int64(v2.DefinitionLevelsByteLength)
			if levels < 0 || levels > comp {
				return errors.New("page level sizes exceed the page")
			}
			dataStart += levels
		case hdr.DictionaryPageHeader.Valid:
			values = int64(hdr.DictionaryPageHeader.V.NumValues)
		}
		if values < 0 || values > int64(limits.MaxPageValues) {
			return limitError("a page of %d values exceeds the limit of %d", values, limits.MaxPageValues)
		}
		if md.Codec == format.Snappy && dataStart < off+comp {
			// Snappy's block starts with the decoded length, which its
			// decoder allocates up front.
			// off has moved past the header: the window began n bytes
			// before it, and usually holds the length already.
			k := min(int64(binary.MaxVarintLen32), off+comp-dataStart)
			var lenBuf []byte
			if at := dataStart - (off - int64(n)); at+k <= w {
				lenBuf = buf[at : at+k]
			} else {
				lenBuf = make([]byte, k)
				if _, err := ra.ReadAt(lenBuf, dataStart); err != nil {
					return err
				}
			}
			if v, m := binary.Uvarint(lenBuf); m <= 0 || v > uint64(limits.MaxPageBytes) {
				return limitError("a snappy page decoding to %d bytes exceeds the limit of %d", v, limits.MaxPageBytes)
			}
		}
		off += comp
	}
	return nil
}
