package airlock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/scanner"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// Failpoints are the steps at which the crash-safety tests kill the
// server (see enclave.Failpoint): after each transaction of every
// transition, and between the copy of files and the transaction that makes
// it count.
var Failpoints = []string{
	"airlock.submit.committed",
	"airlock.check.scanned",
	"airlock.check.committed",
	"airlock.review.committed",
	"airlock.move.copied",
	"airlock.move.committed",
	"airlock.move.finished",
}

type taskPayload struct {
	RequestID string `json:"request_id"`
}

func payloadOf(t *workqueue.Task) (string, error) {
	var p taskPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil || p.RequestID == "" {
		return "", workqueue.Permanent(fmt.Errorf("airlock task %s: malformed payload", t.ID))
	}
	return p.RequestID, nil
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func systemCtx(ctx context.Context) context.Context {
	return enclave.WithActor(ctx, enclave.SystemActor("airlock"))
}

// permanent reports whether a move failed for a reason retrying cannot fix:
// the request fails instead of waiting.
func permanent(err error) bool {
	switch enclave.ErrorCode(err) {
	case enclave.CodeFailedPrecondition, enclave.CodeInvalidArgument, enclave.CodePolicyDenied,
		enclave.CodePermissionDenied, enclave.CodeNotFound, enclave.CodeTooLarge:
		return true
	}
	return workqueue.IsPermanent(err)
}

// Check scans every file of a submitted request and, for an export, checks
// each table for identifiers; then it moves the request on: to blocking
// when malware was found, to review, or straight to approval for an import
// the project lets through. While the scanner cannot be reached the request
// waits in submitted, an alert is raised once, and the scan is tried again:
// a scan is never skipped.
func (s *Service) Check(ctx context.Context, t *workqueue.Task) error {
	id, err := payloadOf(t)
	if err != nil {
		return err
	}
	ctx = systemCtx(ctx)
	r, err := s.Store.GetRequest(ctx, id)
	if err != nil {
		return err
	}
	if r.State != Submitted {
		return nil // done before a crash
	}
	d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
	if err != nil {
		return err
	}
	checks := &Checks{}
	if s.Scanner == nil {
		return s.waitForScanner(ctx, r, errors.New("no malware scanner is configured (airlock.clamd)"))
	}
	checks.Scanner = s.Scanner.Name()
	for _, f := range r.Files {
		res, err := s.scanFile(ctx, d, f.Path)
		switch {
		case errors.Is(err, scanner.ErrUnavailable):
			return s.waitForScanner(ctx, r, err)
		case errors.Is(err, scanner.ErrTooLarge):
			return s.fail(ctx, r, fmt.Sprintf("%s is larger than the malware scanner accepts: it was not scanned, so it cannot pass", f.Path))
		case err != nil:
			return err
		}
		checks.Files = append(checks.Files, &FileCheck{Path: f.Path, Infected: res.Infected, Signature: res.Signature})
	}
	if s.ScannerUp != nil {
		s.ScannerUp(true)
	}
	now := s.Clock.Now()
	checks.ScannedAt = &now
	infected := checks.Infected()
	if r.Type == Export && len(infected) == 0 {
		for _, f := range r.Files {
			if f.Format != "csv" && f.Format != "parquet" {
				continue
			}
			checks.Deid = append(checks.Deid, s.deidReport(ctx, d, r, f))
		}
	}
	enclave.Failpoint("airlock.check.scanned")
	settings, err := s.settings(ctx, r.ProjectID)
	if err != nil {
		return err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetRequest(ctx, id)
		if err != nil {
			return err
		}
		if cur.State != Submitted {
			return nil
		}
		waited := cur.Checks != nil && cur.Checks.WaitingSince != nil
		cur.Checks = checks
		details := map[string]any{"files": len(checks.Files), "infected": len(infected), "scanner": checks.Scanner}
		if waited {
			if err := s.record(ctx, cur, "airlock.scanner.recovered", map[string]any{"scanner": checks.Scanner}); err != nil {
				return err
			}
		}
		switch {
		case len(infected) > 0:
			var sigs []string
			for _, f := range infected {
				sigs = append(sigs, f.Path+": "+f.Signature)
			}
			details["signatures"] = sigs
			if err := s.transition(ctx, cur, BlockingInProgress, "scan-found-malware", "", details); err != nil {
				return err
			}
		case cur.Type == Import && !settings.ImportReview:
			if err := s.transition(ctx, cur, ApprovalInProgress, "scanned-no-review", "", details); err != nil {
				return err
			}
		default:
			if cur.Type == Export {
				details["identifiers_found"] = identifiersFound(checks)
			}
			if err := s.transition(ctx, cur, InReview, "scanned", "", details); err != nil {
				return err
			}
			return nil
		}
		_, err = s.Queue.Enqueue(ctx, MoveTask, taskPayload{RequestID: cur.ID}, workqueue.EnqueueOptions{Scope: cur.Scope()})
		return err
	})
	if err != nil {
		return err
	}
	enclave.Failpoint("airlock.check.committed")
	return nil
}

func identifiersFound(c *Checks) bool {
	for _, t := range c.Deid {
		if t.Report != nil && t.Report.IdentifiersFound {
			return true
		}
	}
	return false
}

func (s *Service) scanFile(ctx context.Context, d *catalog.Dataset, path string) (scanner.Result, error) {
	_, rc, err := s.Catalog.OpenStaged(ctx, d, path)
	if err != nil {
		return scanner.Result{}, err
	}
	defer rc.Close()
	return s.Scanner.Scan(ctx, rc)
}

// deidReport checks one table of an export for identifiers.
func (s *Service) deidReport(ctx context.Context, d *catalog.Dataset, r *Request, f *File) *TableReport {
	opts := deid.ScanOptions{Config: s.Deid}
	for col, l := range r.Labels {
		switch l {
		case catalog.QuasiIdentifier:
			opts.QuasiIdentifiers = append(opts.QuasiIdentifiers, col)
		case catalog.SensitiveAttribute:
			opts.SensitiveAttributes = append(opts.SensitiveAttributes, col)
		}
	}
	sortStrings(opts.QuasiIdentifiers)
	sortStrings(opts.SensitiveAttributes)
	out := &TableReport{Path: f.Path}
	var rep *deid.Report
	var err error
	if f.Format == "parquet" {
		ra, size, oerr := s.Catalog.OpenStagedAt(ctx, d, f.Path)
		if oerr != nil {
			err = oerr
		} else {
			rep, err = deid.ScanParquet(ctx, ra, size, opts)
		}
	} else {
		var rc io.ReadCloser
		_, rc, err = s.Catalog.OpenStaged(ctx, d, f.Path)
		if err == nil {
			rep, err = deid.ScanCSV(ctx, rc, opts)
			rc.Close()
		}
	}
	if err != nil {
		out.Error = enclave.Truncate(enclave.ErrorMessage(err), 500)
		return out
	}
	out.Report = rep
	return out
}

// waitForScanner leaves the request in submitted, raising the alert once
// per request, and asks for the scan to be tried again.
func (s *Service) waitForScanner(ctx context.Context, r *Request, cause error) error {
	if s.ScannerUp != nil {
		s.ScannerUp(false)
	}
	s.logger().ErrorContext(ctx, "airlock: malware scanner unavailable; the request waits", "request", r.ID, "error", cause)
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetRequest(ctx, r.ID)
		if err != nil {
			return err
		}
		if cur.State != Submitted || (cur.Checks != nil && cur.Checks.WaitingSince != nil) {
			return nil
		}
		now := s.Clock.Now()
		if cur.Checks == nil {
			cur.Checks = &Checks{}
		}
		cur.Checks.WaitingSince = &now
		cur.Revision++
		cur.UpdatedAt = now
		if err := s.Store.UpdateRequest(ctx, cur); err != nil {
			return err
		}
		if err := s.notify(ctx, cur, "airlock.scanner.unavailable", "is waiting: the malware scanner is down",
			"The malware scanner cannot be reached ("+enclave.Truncate(cause.Error(), 300)+"). The request waits in submitted and is scanned as soon as the scanner answers; no scan is skipped.",
			s.recipients(ctx, "/", adminRole)); err != nil {
			return err
		}
		return s.record(ctx, cur, "airlock.scanner.unavailable", map[string]any{"error": enclave.Truncate(cause.Error(), 500), "alert": true})
	})
	if err != nil {
		return err
	}
	retry := s.ScanRetry
	if retry <= 0 {
		retry = DefaultScanRetry
	}
	return workqueue.RetryAfter(fmt.Errorf("malware scanner unavailable: %w", cause), retry)
}

// fail moves a request in progress to failed, keeping its files where they
// are for the platform team to look at.
func (s *Service) fail(ctx context.Context, r *Request, why string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetRequest(ctx, r.ID)
		if err != nil {
			return err
		}
		if !cur.State.InProgress() {
			return nil
		}
		cur.Failure = enclave.Truncate(why, 2000)
		return s.transition(ctx, cur, Failed, "fail", "", map[string]any{"failure": cur.Failure})
	})
}

// Move carries out a decision: an approved import becomes the next
// version of its raw dataset, an approved export goes to the external area,
// a rejected request's files are deleted, and a blocked request's infected
// files go to quarantine (the clean ones are deleted). Each is one copy
// followed by one transaction, so it can be repeated after a crash.
func (s *Service) Move(ctx context.Context, t *workqueue.Task) error {
	id, err := payloadOf(t)
	if err != nil {
		return err
	}
	ctx = systemCtx(ctx)
	r, err := s.Store.GetRequest(ctx, id)
	if err != nil {
		return err
	}
	var to State
	var area catalog.Area
	var target, op string
	var keep func(string) bool
	switch r.State {
	case ApprovalInProgress:
		to = Approved
		if r.Type == Import {
			area, target, op = catalog.Raw, r.Target, "import"
		} else {
			area, target, op = catalog.External, stagingName("ext", r.ID), "release"
		}
	case RejectionInProgress:
		to = Rejected
	case BlockingInProgress:
		to, area, target, op = BlockedByScan, catalog.Quarantine, stagingName("q", r.ID), "quarantine"
		infected := map[string]bool{}
		for _, f := range r.Checks.Infected() {
			infected[f.Path] = true
		}
		keep = func(p string) bool { return infected[p] }
	default:
		return nil // done before a crash
	}
	err = s.move(ctx, r, to, area, target, op, keep)
	if err != nil && (permanent(err) || t.Attempts >= t.MaxAttempts) {
		s.logger().ErrorContext(ctx, "airlock: request failed", "request", r.ID, "error", err)
		return s.fail(ctx, r, fmt.Sprintf("moving the files to %s failed: %s", orDeleted(area), enclave.ErrorMessage(err)))
	}
	return err
}

func orDeleted(a catalog.Area) string {
	if a == "" {
		return "deletion"
	}
	return "the " + string(a) + " area"
}

func (s *Service) move(ctx context.Context, r *Request, to State, area catalog.Area, target, op string, keep func(string) bool) error {
	d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
	if err != nil {
		return err
	}
	var m *catalog.Move
	if area != "" {
		if m, err = s.Catalog.PrepareMove(ctx, d, keep, area, target, op); err != nil {
			return err
		}
	}
	enclave.Failpoint("airlock.move.copied")
	var gone []string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetRequest(ctx, r.ID)
		if err != nil {
			return err
		}
		if cur.State != r.State {
			return errStale
		}
		details := map[string]any{}
		if m != nil {
			owner, ownerName := cur.RequesterID, cur.RequesterName
			nd, nv, err := m.Commit(catalog.ViaAirlock(ctx), owner, ownerName)
			if err != nil {
				return err
			}
			if nv != nil {
				cur.Result = &Location{Area: nd.Area, Dataset: nd.Name, Version: nv.Number}
				details["to"] = map[string]any{"area": nd.Area, "dataset": nd.Name, "version": nv.Number, "sha256": nv.SHA256, "files": nv.FileCount}
			}
		} else if gone, err = s.Catalog.DropStaging(catalog.ViaAirlock(ctx), d); err != nil {
			return err
		} else {
			details["files_deleted"] = len(gone)
		}
		action := "complete"
		if err := s.transition(ctx, cur, to, action, "", details); err != nil {
			return err
		}
		if to == Approved && cur.Result != nil {
			return s.record(ctx, cur, "airlock.transfer", map[string]any{"from": d.Area, "to": cur.Result.Area,
				"dataset": cur.Result.Dataset, "version": cur.Result.Version})
		}
		return nil
	})
	if errors.Is(err, errStale) {
		if m != nil {
			m.Discard(ctx)
		}
		return nil
	}
	if err != nil {
		if m != nil {
			m.Discard(ctx)
		}
		return err
	}
	enclave.Failpoint("airlock.move.committed")
	if m != nil {
		m.Finish(ctx)
	}
	s.Catalog.DropObjects(ctx, gone)
	enclave.Failpoint("airlock.move.finished")
	return nil
}

var errStale = errors.New("airlock: the request moved on meanwhile")
