package enclave

// Classification is the sensitivity of data, ordered from least to most
// sensitive. It decides where data may be read: an environment certified for
// a classification may hold data of that classification or below.
type Classification string

// The classifications, in increasing order of sensitivity.
const (
	Public       Classification = "public"
	Internal     Classification = "internal"
	Confidential Classification = "confidential"
	Restricted   Classification = "restricted"
)

var classificationRank = map[Classification]int{Public: 1, Internal: 2, Confidential: 3, Restricted: 4}

// Classifications lists every classification in increasing order.
func Classifications() []Classification {
	return []Classification{Public, Internal, Confidential, Restricted}
}

// Validate checks that c is a known classification.
func (c Classification) Validate(field string) error {
	if _, ok := classificationRank[c]; !ok {
		return FieldError(field, "%s must be one of public, internal, confidential, restricted", field)
	}
	return nil
}

// Rank orders classifications: public 1 … restricted 4, unknown 0.
func (c Classification) Rank() int { return classificationRank[c] }

// AtMost reports whether c is no more sensitive than limit.
func (c Classification) AtMost(limit Classification) bool {
	return classificationRank[c] <= classificationRank[limit]
}

// Min returns the less sensitive of a and b.
func Min(a, b Classification) Classification {
	if a.AtMost(b) {
		return a
	}
	return b
}
