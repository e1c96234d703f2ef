package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
)

// This file checks the on-disk structure of a bbolt (format version 2) file
// with plain reads, before bbolt memory-maps it. bbolt trusts its pages: a
// truncated file faults on access (SIGBUS, not recoverable) and damaged pages
// can make it panic, loop or read out of bounds. The verifier reads each page
// at most once, bounds every offset and never follows a page twice, so
// hostile bytes end in ErrCorrupt, never in a crash.

// On-disk constants of bbolt format version 2.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	elemSize         = 16 // branch and leaf page elements are both 16 bytes
	metaSize         = 64 // magic..checksum
	metaSumLen       = 56 // bytes covered by the meta checksum
	bucketHeaderSize = 16
	flagBranch       = 0x01
	flagLeaf         = 0x02
	flagFreelist     = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	maxTreeDepth     = 64
	minPageSize      = 512
	maxPageSize      = 1 << 24
)

var ne = binary.NativeEndian // bbolt stores integers in host byte order

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // high-water mark: number of pages in use
	txid     uint64
}

// parseMeta decodes and validates a meta page (header included) like
// bbolt's Meta.Validate: magic, version, checksum.
func parseMeta(page []byte) (boltMeta, error) {
	if len(page) < pageHeaderSize+metaSize {
		return boltMeta{}, errors.New("short meta page")
	}
	m := page[pageHeaderSize:]
	if ne.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("bad magic")
	}
	if ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, fmt.Errorf("unsupported bbolt format version %d", ne.Uint32(m[4:]))
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:metaSumLen])
	if h.Sum64() != ne.Uint64(m[56:]) {
		return boltMeta{}, errors.New("bad checksum")
	}
	return boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

type verifier struct {
	ctx       context.Context
	r         io.ReaderAt
	size      int64
	pageSize  int64
	meta      boltMeta
	reachable bitset
	freed     bitset
	steps     int
	elems     uint64 // element budget: overlapping inline buckets must not explode
}

type bitset []uint64

func newBitset(n uint64) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) has(i uint64) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i uint64)      { b[i/64] |= 1 << (i % 64) }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// verifyFile checks r (a bbolt file of the given size). full walks every
// page; otherwise only meta pages, size and freelist are checked.
func verifyFile(ctx context.Context, r io.ReaderAt, size int64, full bool, log *slog.Logger) error {
	if size < 2*minPageSize {
		return corruptf("file is only %d bytes, too small for a bbolt database (truncated?)", size)
	}
	meta, err := pickMeta(r, size)
	if err != nil {
		return err
	}
	v := &verifier{ctx: ctx, r: r, size: size, pageSize: int64(meta.pageSize), meta: meta,
		elems: uint64(size)/elemSize + 1}
	maxPages := uint64(size) / uint64(v.pageSize)
	if meta.hwm < 3 || meta.hwm > maxPages {
		if meta.hwm > maxPages && meta.hwm <= 1<<40 {
			return corruptf("file is truncated: %d bytes, but the database uses %d pages of %d bytes (%d bytes)",
				size, meta.hwm, v.pageSize, meta.hwm*uint64(v.pageSize))
		}
		return corruptf("meta page claims %d pages, file holds %d", meta.hwm, maxPages)
	}
	if meta.root < 2 || meta.root >= meta.hwm {
		return corruptf("root page %d out of range [2,%d)", meta.root, meta.hwm)
	}
	v.reachable = newBitset(meta.hwm)
	v.freed = newBitset(meta.hwm)
	v.reachable.set(0)
	v.reachable.set(1)
	if err := v.checkFreelist(); err != nil {
		return err
	}
	if !full {
		// Check at least the root page header.
		_, err := v.readPage(meta.root)
		return err
	}
	if err := v.walk(meta.root, 0); err != nil {
		return err
	}
	if meta.freelist != noFreelist {
		leaked := 0
		for i := uint64(2); i < meta.hwm; i++ {
			if !v.reachable.has(i) && !v.freed.has(i) {
				leaked++
			}
		}
		if leaked > 0 {
			// Harmless (space is lost, no data is at risk), so only warn.
			log.Warn("store: database has pages that are neither used nor free", "pages", leaked)
		}
	}
	return nil
}

// pickMeta finds the page size and chooses the meta page bbolt would use:
// the valid one with the higher transaction id. One bad meta page is normal
// after a crash during commit; two are corruption.
func pickMeta(r io.ReaderAt, size int64) (boltMeta, error) {
	var buf [pageHeaderSize + metaSize]byte
	read := func(off int64) (boltMeta, error) {
		if off+int64(len(buf)) > size {
			return boltMeta{}, errors.New("beyond end of file")
		}
		if _, err := r.ReadAt(buf[:], off); err != nil {
			return boltMeta{}, fmt.Errorf("read at %d: %w", off, err)
		}
		return parseMeta(buf[:])
	}
	// The page size is recorded in the metas; meta1 sits at offset pageSize.
	pageSize := int64(0)
	m0, err0 := read(0)
	if err0 == nil {
		pageSize = int64(m0.pageSize)
	} else {
		for off := int64(1024); off <= maxPageSize && off < size; off <<= 1 {
			if m, err := read(off); err == nil && int64(m.pageSize) == off {
				pageSize = off
				break
			}
		}
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		if err0 != nil {
			return boltMeta{}, corruptf("no valid bbolt meta page (first meta page: %v)", err0)
		}
		return boltMeta{}, corruptf("invalid page size %d", pageSize)
	}
	m1, err1 := read(pageSize)
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, corruptf("both bbolt meta pages are invalid (%v; %v)", err0, err1)
	case err0 != nil:
		m0 = m1
	case err1 == nil && m1.txid > m0.txid:
		m0 = m1
	}
	if int64(m0.pageSize) != pageSize {
		return boltMeta{}, corruptf("meta pages disagree on the page size (%d, %d)", pageSize, m0.pageSize)
	}
	return m0, nil
}

// readPage reads page id with its overflow pages and checks its header.
func (v *verifier) readPage(id uint64) ([]byte, error) {
	if v.steps++; v.steps%256 == 0 {
		if err := v.ctx.Err(); err != nil {
			return nil, fmt.Errorf("store: verifying database: %w", err)
		}
	}
	if id < 2 || id >= v.meta.hwm {
		return nil, corruptf("page id %d out of range [2,%d)", id, v.meta.hwm)
	}
	var hdr [pageHeaderSize]byte
	off := int64(id) * v.pageSize
	if _, err := v.r.ReadAt(hdr[:], off); err != nil {
		return nil, corruptf("reading page %d: %v", id, err)
	}
	if got := ne.Uint64(hdr[0:]); got != id {
		return nil, corruptf("page %d has header id %d", id, got)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if id+overflow >= v.meta.hwm {
		return nil, corruptf("page %d overflows past the high-water mark (%d+%d >= %d)", id, id, overflow, v.meta.hwm)
	}
	buf := make([]byte, int64(overflow+1)*v.pageSize)
	if _, err := v.r.ReadAt(buf, off); err != nil {
		return nil, corruptf("reading page %d: %v", id, err)
	}
	return buf, nil
}

func (v *verifier) checkFreelist() error {
	id := v.meta.freelist
	if id == noFreelist {
		return nil
	}
	buf, err := v.readPage(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if flags := ne.Uint16(buf[8:]); flags != flagFreelist {
		return corruptf("freelist page %d has flags %#x", id, flags)
	}
	for i := uint64(0); i < uint64(len(buf))/uint64(v.pageSize); i++ {
		v.reachable.set(id + i)
	}
	count := uint64(ne.Uint16(buf[10:]))
	start := uint64(pageHeaderSize)
	if count == 0xFFFF {
		if len(buf) < pageHeaderSize+8 {
			return corruptf("freelist page %d is too short", id)
		}
		count = ne.Uint64(buf[pageHeaderSize:])
		start += 8
	}
	if count > (uint64(len(buf))-start)/8 {
		return corruptf("freelist page %d claims %d entries, room for %d", id, count, (uint64(len(buf))-start)/8)
	}
	for i := uint64(0); i < count; i++ {
		p := ne.Uint64(buf[start+8*i:])
		if p < 2 || p >= v.meta.hwm {
			return corruptf("freelist lists page %d, out of range [2,%d)", p, v.meta.hwm)
		}
		if v.freed.has(p) {
			return corruptf("freelist lists page %d twice", p)
		}
		if v.reachable.has(p) {
			return corruptf("freelist lists its own page %d", p)
		}
		v.freed.set(p)
	}
	return nil
}

// walk checks the tree rooted at page id and every sub-bucket below it.
func (v *verifier) walk(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return corruptf("tree deeper than %d at page %d", maxTreeDepth, id)
	}
	if id >= 2 && id < v.meta.hwm && v.reachable.has(id) {
		return corruptf("page %d is referenced twice", id)
	}
	buf, err := v.readPage(id)
	if err != nil {
		return err
	}
	n := uint64(len(buf)) / uint64(v.pageSize)
	for i := uint64(0); i < n; i++ {
		switch {
		case v.freed.has(id + i):
			return corruptf("page %d is in use and also in the freelist", id+i)
		case v.reachable.has(id + i):
			return corruptf("page %d is referenced twice", id+i)
		}
		v.reachable.set(id + i)
	}
	return v.checkNodePage(buf, id, depth, false)
}

// checkNodePage checks a branch or leaf page held in buf (a mapped page or,
// for inline buckets, the bytes after the bucket header).
func (v *verifier) checkNodePage(buf []byte, id uint64, depth int, inline bool) error {
	if len(buf) < pageHeaderSize {
		return corruptf("inline page in page %d is too short", id)
	}
	flags := ne.Uint16(buf[8:])
	count := uint64(ne.Uint16(buf[10:]))
	if inline && flags != flagLeaf {
		return corruptf("inline bucket in page %d is not a leaf (flags %#x)", id, flags)
	}
	if flags != flagBranch && flags != flagLeaf {
		return corruptf("page %d has unexpected type flags %#x", id, flags)
	}
	if pageHeaderSize+count*elemSize > uint64(len(buf)) {
		return corruptf("page %d claims %d elements, too many for its size", id, count)
	}
	if flags == flagBranch && count == 0 {
		return corruptf("branch page %d is empty", id)
	}
	// Each element of a sound file occupies its own 16 bytes, so more
	// elements than the file can hold means elements share bytes (crafted
	// inline buckets), which would otherwise make the walk exponential.
	if count > v.elems {
		return corruptf("page %d: more elements than the file can hold", id)
	}
	v.elems -= count
	var prev []byte
	for i := uint64(0); i < count; i++ {
		e := pageHeaderSize + i*elemSize
		var kpos, klen, vlen uint64
		var elemFlags uint32
		if flags == flagBranch {
			kpos, klen = uint64(ne.Uint32(buf[e:])), uint64(ne.Uint32(buf[e+4:]))
		} else {
			elemFlags = ne.Uint32(buf[e:])
			kpos, klen, vlen = uint64(ne.Uint32(buf[e+4:])), uint64(ne.Uint32(buf[e+8:])), uint64(ne.Uint32(buf[e+12:]))
		}
		start := e + kpos
		if start+klen+vlen > uint64(len(buf)) {
			return corruptf("page %d element %d points outside the page", id, i)
		}
		key := buf[start : start+klen]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return corruptf("page %d keys are out of order at element %d", id, i)
		}
		prev = key
		if flags == flagBranch {
			if err := v.walk(ne.Uint64(buf[e+8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		if elemFlags&bucketLeafFlag == 0 {
			continue
		}
		val := buf[start+klen : start+klen+vlen]
		if len(val) < bucketHeaderSize {
			return corruptf("page %d element %d: bucket header too short", id, i)
		}
		var err error
		if root := ne.Uint64(val); root == 0 {
			if depth+1 > maxTreeDepth {
				return corruptf("buckets nested deeper than %d", maxTreeDepth)
			}
			err = v.checkNodePage(val[bucketHeaderSize:], id, depth+1, true)
		} else {
			err = v.walk(root, depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
