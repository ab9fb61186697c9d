package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/zone"
)

// Example values of the zone routes' bodies, for the OpenAPI document.
var (
	zoneOut    = zone.Zone{}
	zoneList   = List[*zone.Zone]{}
	zoneCreate = zone.ZoneCreate{}
	zoneUpdate = zone.ZoneUpdate{}
)

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	zs, next, err := s.Zones.ListZones(r.Context(), zone.ZoneFilter{Region: q.Get("region"), State: zone.State(q.Get("state"))}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(zs, next))
}

func (s *Server) createZone(w http.ResponseWriter, r *http.Request) error {
	var in zone.ZoneCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	z, err := s.Zones.CreateZone(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/zones/"+z.Name)
	return writeJSON(w, http.StatusCreated, z)
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) error {
	z, err := s.Zones.GetZone(r.Context(), r.PathValue("zone"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, z)
}

func (s *Server) updateZone(w http.ResponseWriter, r *http.Request) error {
	var in zone.ZoneUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	z, err := s.Zones.UpdateZone(r.Context(), r.PathValue("zone"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, z)
}

func (s *Server) deleteZone(w http.ResponseWriter, r *http.Request) error {
	if err := s.Zones.DeleteZone(r.Context(), r.PathValue("zone")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
