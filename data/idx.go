package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// maybeGunzip decompresses raw when it is gzip (by magic bytes); path names it in errors.
func maybeGunzip(path string, raw []byte) ([]byte, error) {
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		out, err := io.ReadAll(bufio.NewReader(zr))
		if err != nil {
			return nil, fmt.Errorf("read %s: gzip: %w (truncated file?)", path, err)
		}
		return out, nil
	}
	return raw, nil
}

// ParseIDX decodes an IDX file of unsigned bytes (type 0x08): it returns the dimensions
// and the data. name is used in error messages.
func ParseIDX(name string, b []byte) (dims []int, values []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%s: %d bytes is too short for an IDX header", name, len(b))
	}
	if b[0] != 0 || b[1] != 0 {
		return nil, nil, fmt.Errorf("%s: bad IDX magic % x (want 00 00 08 nd)", name, b[:4])
	}
	if b[2] != 0x08 {
		return nil, nil, fmt.Errorf("%s: IDX element type 0x%02x, only unsigned bytes (0x08) are supported", name, b[2])
	}
	nd := int(b[3])
	if nd < 1 || nd > 4 {
		return nil, nil, fmt.Errorf("%s: IDX with %d dimensions, want 1 to 4", name, nd)
	}
	if len(b) < 4+4*nd {
		return nil, nil, fmt.Errorf("%s: truncated IDX header (%d bytes for %d dimensions)", name, len(b), nd)
	}
	n := 1
	for i := 0; i < nd; i++ {
		d := int(binary.BigEndian.Uint32(b[4+4*i:]))
		if d <= 0 || d > 1<<28 || n > (1<<34)/d {
			return nil, nil, fmt.Errorf("%s: IDX dimension %d is %d", name, i, d)
		}
		dims = append(dims, d)
		n *= d
	}
	body := b[4+4*nd:]
	if len(body) != n {
		return nil, nil, fmt.Errorf("%s: IDX dimensions %v need %d bytes of data, file has %d (truncated or corrupt)", name, dims, n, len(body))
	}
	return dims, body, nil
}

// ReadIDXImages reads an IDX image file [n, h, w] (gzip or raw).
func ReadIDXImages(path string) (n, h, w int, pix []byte, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return parseIDXImages(path, b)
}

// parseIDXImages decodes the IDX image file [n, h, w] held in raw (gzip or not).
func parseIDXImages(path string, raw []byte) (n, h, w int, pix []byte, err error) {
	b, err := maybeGunzip(path, raw)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	dims, v, err := ParseIDX(path, b)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if len(dims) != 3 {
		return 0, 0, 0, nil, fmt.Errorf("%s: image file has dimensions %v, want [n h w]", path, dims)
	}
	return dims[0], dims[1], dims[2], v, nil
}

// ReadIDXLabels reads an IDX label file [n] (gzip or raw).
func ReadIDXLabels(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIDXLabels(path, b)
}

// parseIDXLabels decodes the IDX label file [n] held in raw (gzip or not).
func parseIDXLabels(path string, raw []byte) ([]byte, error) {
	b, err := maybeGunzip(path, raw)
	if err != nil {
		return nil, err
	}
	dims, v, err := ParseIDX(path, b)
	if err != nil {
		return nil, err
	}
	if len(dims) != 1 {
		return nil, fmt.Errorf("%s: label file has dimensions %v, want [n]", path, dims)
	}
	return v, nil
}
