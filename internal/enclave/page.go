package enclave

import (
	"encoding/base64"
	"encoding/json"
)

// DefaultPageSize and MaxPageSize bound list requests.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page asks for one page of a list: at most Size items after the position
// that Token encodes.
type Page struct {
	Size  int
	Token string
}

// Cursor is the keyset position a page token encodes: the sort key of the
// last item returned. Clients treat tokens as opaque.
type Cursor struct {
	After string `json:"a"`
}

// Normalize applies the default and maximum sizes and checks the token.
func (p Page) Normalize() (Page, Cursor, error) {
	if p.Size < 0 {
		return p, Cursor{}, FieldError("page_size", "page_size must not be negative")
	}
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	if p.Size > MaxPageSize {
		p.Size = MaxPageSize
	}
	var c Cursor
	if p.Token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.Token)
		if err != nil || json.Unmarshal(raw, &c) != nil || c.After == "" {
			return p, Cursor{}, FieldError("page_token", "page_token is not a token this server issued")
		}
	}
	return p, c, nil
}

// EncodeCursor returns the opaque page token for a position.
func EncodeCursor(after string) string {
	raw, _ := json.Marshal(Cursor{After: after})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// PageOf trims a list fetched with one item more than the page size to
// the page, and returns the token of the next page (empty on the last one),
// made from the sort key of the page's last item.
func PageOf[T any](items []T, size int, key func(T) string) ([]T, string) {
	if len(items) <= size {
		return items, ""
	}
	items = items[:size]
	return items, EncodeCursor(key(items[len(items)-1]))
}
