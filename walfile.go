package sqlite3safe

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// This file reads the -wal file, for the checkpointer's samples and the
// writers' brake; it never opens the database file or its -shm (see
// checkpointer.readIndex on why).

// fileSize is the size of the file at path, or 0 if it cannot be read
// (a stat: no descriptor).
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// walIndex is where the checkpointer believes the WAL stands: frames of
// the current WAL generation, frames of it already copied to the
// database, page size.
type walIndex struct {
	mxFrame   uint32
	nBackfill uint32
	pageSize  int64
}

// bytes is the WAL's length as far as it is in use: header and frames.
func (w walIndex) bytes() int64 {
	if w.mxFrame == 0 {
		return 0
	}
	return walHeaderSize + int64(w.mxFrame)*(w.pageSize+walFrameHeaderSize)
}

func (w walIndex) pending() uint32 {
	if w.nBackfill >= w.mxFrame {
		return 0
	}
	return w.mxFrame - w.nBackfill
}

// The WAL file format (https://www.sqlite.org/walformat.html): a 32-byte
// header (big-endian: magic, version, page size, checkpoint sequence,
// salt-1, salt-2, checksums), then frames of a 24-byte header (page
// number, database size, salt-1, salt-2, checksums) and one page.
const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
	walMagic           = 0x377f0682 // the low bit selects the checksum byte order
)

// walHeader is what the checkpointer needs of a -wal file's header.
type walHeader struct {
	pageSize int64
	salts    [2]uint32 // change each time the WAL starts over
}

// readWAL reads the header of the -wal file at path and counts the frames
// of its current generation: a frame belongs to it iff its salts equal
// the header's, and those frames are a prefix of the file (a WAL that
// starts over overwrites it from the first frame), so a binary search
// finds the last one. hint is a frame count seen before, tried first.
// A missing or empty file is an empty WAL. The descriptor is the -wal's,
// which SQLite never locks; it is closed before readWAL returns.
//
// Frames of a transaction not yet committed (or rolled back) count too:
// this is a sample for a heuristic, like everything the checkpointer
// decides on.
func readWAL(path string, hint uint32) (walHeader, uint32, bool) {
	f, err := os.Open(path)
	if err != nil {
		return walHeader{}, 0, errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return walHeader{}, 0, false
	}
	var buf [walHeaderSize]byte
	if fi.Size() < walHeaderSize {
		return walHeader{}, 0, true
	}
	if _, err := f.ReadAt(buf[:], 0); err != nil {
		return walHeader{}, 0, errors.Is(err, io.EOF) // truncated meanwhile: empty
	}
	be := binary.BigEndian
	if be.Uint32(buf[0:4])&^1 != walMagic {
		return walHeader{}, 0, true // not (yet) a WAL header: nothing in it counts
	}
	ps := int64(be.Uint32(buf[8:12]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return walHeader{}, 0, false
	}
	h := walHeader{pageSize: ps, salts: [2]uint32{be.Uint32(buf[16:20]), be.Uint32(buf[20:24])}}
	frameSize := ps + walFrameHeaderSize
	n := uint32(min((fi.Size()-walHeaderSize)/frameSize, int64(^uint32(0))))
	valid := func(i uint32) bool { // frame i (from 1) has the header's salts
		var s [8]byte
		if _, err := f.ReadAt(s[:], walHeaderSize+int64(i-1)*frameSize+8); err != nil {
			return false
		}
		return be.Uint32(s[0:4]) == h.salts[0] && be.Uint32(s[4:8]) == h.salts[1]
	}
	if n == 0 || valid(n) {
		return h, n, true // the common case: the file ends with current frames
	}
	lo, hi := uint32(0), n-1 // frames 1..lo are current, frames after hi are not
	if hint > 0 && hint <= hi {
		if valid(hint) {
			lo = hint
		} else {
			hi = hint - 1
		}
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if valid(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return h, lo, true
}
