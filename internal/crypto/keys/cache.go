package keys

import (
	"container/list"
	"crypto/cipher"
	"sync"
	"time"
)

// kekCache keeps unwrapped KEKs (as ready AES-GCM instances) for a bounded
// time and number, least recently used first out. An entry is keyed by owner
// and version and remembers the fingerprint of the wrapped record it came
// from: the hierarchy reads the record from the store on every use and
// serves the cached key only if the record is still there, unchanged. So a
// destruction by another replica takes effect at once; the cache only
// spares the provider round trip.
type kekCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	lru     *list.List // of *cacheEntry, most recent first
	entries map[cacheKey]*list.Element
	epoch   uint64 // bumped by every purge
}

type cacheKey struct {
	owner   string
	version uint32
}

type cacheEntry struct {
	key         cacheKey
	fingerprint [32]byte
	aead        cipher.AEAD
	expires     time.Time
}

func newKEKCache(max int, ttl time.Duration) *kekCache {
	return &kekCache{max: max, ttl: ttl, lru: list.New(), entries: map[cacheKey]*list.Element{}}
}

func (c *kekCache) get(k cacheKey, fp [32]byte, now time.Time) (cipher.AEAD, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if e.fingerprint != fp || !now.Before(e.expires) {
		c.removeLocked(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.aead, true
}

// currentEpoch is read before a provider call; put drops the result if a
// purge happened meanwhile, so a key unwrapped just before its owner was
// destroyed is not cached after.
func (c *kekCache) currentEpoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *kekCache) put(k cacheKey, fp [32]byte, aead cipher.AEAD, now time.Time, epoch uint64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if el, ok := c.entries[k]; ok {
		c.removeLocked(el)
	}
	// Misses are rare, so this is where expired keys leave memory.
	for _, el := range c.entries {
		if !now.Before(el.Value.(*cacheEntry).expires) {
			c.removeLocked(el)
		}
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, fingerprint: fp, aead: aead, expires: now.Add(c.ttl)})
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back())
	}
}

func (c *kekCache) remove(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.removeLocked(el)
	}
}

// purge drops every entry of an owner.
func (c *kekCache) purge(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, el := range c.entries {
		if k.owner == owner {
			c.removeLocked(el)
		}
	}
}

func (c *kekCache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
}

func (c *kekCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
