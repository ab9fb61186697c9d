// Package deid finds and removes personal identifiers in tabular files, for
// the airlock of a trusted research environment: before a file leaves a
// project, [ScanCSV] or [ScanParquet] reports which columns hold
// identifiers and how re-identifiable the rows are, and `enclave deid`
// applies a [Recipe] that drops, masks, pseudonymises, generalises or
// redacts them ([ApplyCSV], [ApplyParquet]).
//
// # Detectors
//
// [FindAll] finds identifiers in text; the scans use the same matcher on
// every cell. Each kind has a cheap trigger, so that most bytes are skipped
// a word at a time and no regular expression runs in the hot path:
//
//   - email: a dot-atom local part (RFC 5322's atext and dots, up to 64
//     characters), '@', and a domain of two or more labels whose last
//     label is two or more letters. Found from each '@'.
//   - ip-address: IPv4 dotted quads whose octets are 0–255 without leading
//     zeros, not part of a longer dotted run ("1.2.3.4.5", "v1.2.3.4");
//     IPv6 addresses, from each ':', validated by net/netip.
//   - payment-card: 13–19 digits, contiguous or in groups of four (the
//     last shorter) or 4-6-5, separated by spaces or dashes, that pass the
//     Luhn check and start with a major network's IIN for that length
//     (Visa 4; Mastercard 51–55 and 2221–2720; Amex 34, 37; Discover 6011,
//     644–649, 65; JCB 3528–3589; Diners; UnionPay 62; Maestro).
//   - uk-nhs: ten digits, contiguous or 3-3-4 with spaces or dashes, with
//     a valid modulus-11 check digit (weights 10 to 2; 11 means 0, 10
//     means invalid).
//   - us-ssn: AAA-GG-SSSS within the SSA's rules (area not 000, 666 or
//     900–999, group not 00, serial not 0000). Nine bare digits count only
//     in a column whose every value is SSN-shaped.
//   - iban: a country code, two check digits and the BBAN, compact or in
//     groups of four, of the length the SWIFT registry gives the country
//     (every SEPA country, the UK and the others), with the ISO 7064
//     mod-97 checksum. A well-formed IBAN with bad check digits is skipped
//     whole, so its digit groups are not taken for anything else.
//   - phone: E.164 ('+', 8–15 digits, any grouping); US numbers written
//     (xxx) xxx-xxxx, xxx-xxx-xxxx or xxx.xxx.xxxx with area code and
//     exchange starting 2–9; UK national numbers (0 then 1, 2, 3, 7 or 8;
//     ten or eleven digits; contiguous, in two or three space-separated
//     groups led by three to five digits, or with the area code in
//     parentheses). Numbers are tried as cards and NHS numbers first: a
//     valid NHS number or card is not a phone. A dashed 3-3-4 number that
//     is both a valid NHS number and a plausible US number is taken as an
//     NHS number in text only after the word "NHS"; as a whole cell it
//     counts as both, and the column's majority decides.
//   - postcode: UK postcodes with full validation (the six outward
//     formats with the Royal Mail's letter rules for each position, an
//     optional space, an inward code of a digit and two letters other than
//     CIKMOV; GIR 0AA); US ZIP and ZIP+4 codes only in a column whose
//     header says postcode (zip, zipcode, postcode, postal_code, ...),
//     since bare five-digit numbers are everywhere.
//   - date-of-birth: in a column whose header says birth (dob, birth_date,
//     date_of_birth, birthdate, born, ...), values that are dates (numeric
//     in any common order, with month names, ISO timestamps; Parquet dates
//     and timestamps); in text, a date after "born", "DOB", "D.O.B." or
//     "date of birth" with at most three words and no clause break
//     between them.
//   - name: an embedded dictionary of a few hundred common given names and
//     surnames. In text, a capitalised given name followed by a surname
//     (perhaps a middle name or initial between, perhaps a second
//     surname), or a title (Dr, Mrs, ...) before a surname. A cell is a
//     name when it is two or three capitalised (or capital) words holding
//     a given name and a surname in any order ("Smith, John" too), or, in
//     a column whose header says name (name, first_name, surname,
//     patient_name, ...), when it is one to four capitalised words.
//   - mrn: the regular expressions of Config.MRNPatterns (default
//     `\bMRN[-: ]?\d{6,10}\b`, matched by hand); a pattern runs only on
//     text containing its literal prefix. In a column whose header says
//     record number (mrn, medical_record_number, patient_id, ...), values
//     that look like identifiers (4–24 letters, digits and -_/.: with at
//     least two digits).
//
// # Scans
//
// A scan reads the file once. A column is free text when its non-null
// values average more than 30 bytes and at least half contain a space;
// otherwise it is structured. A structured column holds kind K when at
// least Config.ColumnThreshold (default half) of its non-null cells are an
// identifier of kind K as the whole cell (surrounding spaces aside), and
// its verdict is then direct-identifier; cells that are identifiers, or
// embed one, below the threshold make it a possible-identifier. A free-text
// column's findings count the cells that contain each kind anywhere, and
// any finding makes it a direct identifier. The [Report] holds counts,
// shares, kinds, column names and the numbers of up to five example rows
// per finding — never a value from the file — because it is stored and
// shown to reviewers who may not see the data.
//
// Given quasi-identifiers, the scan also measures k-anonymity: rows are
// grouped into equivalence classes by their combination of quasi-
// identifier values, and k is the size of the smallest class. Classes are
// kept in a map keyed by a 64-bit hash of the combination (maphash, with a
// per-scan random seed), never by the values, so memory grows with the
// number of distinct combinations (about 100 bytes each), not with the
// data; Config.MaxClasses (default five million) caps it, and a scan that
// meets more reports itself truncated instead of exhausting memory. Given
// sensitive attributes, it measures each one's l-diversity: the smallest
// number of distinct values of the attribute within any class, from hashes
// of (class, value) pairs.
//
// [EvaluateCSV] measures the detectors' cell-level precision and recall
// against labelled data, such as the synthetic tables of package synth.
//
// # Recipes
//
// A [Recipe] is YAML (see [ParseRecipe]): an action per column — keep,
// drop, mask, pseudonymise, generalise-date, generalise-age,
// generalise-postcode, redact — a default for the others (keep or drop),
// and optionally k-anonymity over quasi-identifiers. Every action leaves
// nulls null; a value a generalisation cannot read (a date that is not a
// date) becomes null rather than pass through. Pseudonyms come from a
// [Pseudonymiser] the caller supplies, keyed by a secret that stays on the
// server ([NewHMACPseudonymiser]).
//
// Applying a recipe reads the input once, in bounded memory, whatever its
// size. K-anonymity is enforced in that one pass: a row whose class (its
// quasi-identifiers after the other actions) has been seen fewer than k
// times is held back; when the class reaches k rows its held rows are
// written and later rows pass straight through; at the end the rows still
// held, whose classes never reached k, are suppressed — written with their
// quasi-identifiers replaced by "*", which makes them one class — or, if
// they are fewer than k even together, dropped. Held rows therefore come
// out later than their input position: output order differs from input
// order for them. Held rows beyond ApplyOptions.MemoryLimit (default 64
// MiB) spill to a temporary file encrypted with AES-256-GCM under a random
// key that exists only in memory, and the file is removed before the call
// returns: data at rest is never plaintext. The [ApplyReport] recomputes
// the k the output achieves from the rows as they were written.
//
// # Reading
//
// Parquet files are read through tabular.NewParquetRows. CSV files are
// read by a reader in this package that follows tabular.NewCSVRows's rules
// (RFC 4180 with strict quotes, delimiter detection, the header's field
// count on every record, UTF-8 without NUL bytes, the same limits) but
// yields fields as byte slices without allocating; it is several times
// faster, which the scan's goal of 50 MB/s on one core needs. The
// benchmark in bench/deid.go measures both.
package deid
