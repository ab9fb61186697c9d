package mlflowapi

import (
	"strconv"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

func (s *Server) registryRoutes(rt func(method, path string, perm access.Permission, h func(c *call) error) route) []route {
	return []route{
		rt("POST", api2+"/registered-models/create", modWrite, s.createModel),
		rt("GET", api2+"/registered-models/get", modRead, s.getModel),
		rt("POST", api2+"/registered-models/rename", modWrite, s.renameModel),
		rt("PATCH", api2+"/registered-models/update", modWrite, s.updateModel),
		rt("DELETE", api2+"/registered-models/delete", modWrite, s.deleteModel),
		rt("GET", api2+"/registered-models/search", modRead, s.searchModels),
		rt("POST", api2+"/registered-models/get-latest-versions", modRead, s.latestVersions),
		rt("GET", api2+"/registered-models/get-latest-versions", modRead, s.latestVersions),
		rt("POST", api2+"/registered-models/set-tag", modWrite, s.modelTag(false)),
		rt("DELETE", api2+"/registered-models/delete-tag", modWrite, s.modelTag(true)),
		rt("POST", api2+"/registered-models/alias", modWrite, s.setAlias),
		rt("DELETE", api2+"/registered-models/alias", modWrite, s.deleteAlias),
		rt("GET", api2+"/registered-models/alias", modRead, s.versionByAlias),

		rt("POST", api2+"/model-versions/create", modWrite, s.createVersion),
		rt("GET", api2+"/model-versions/get", modRead, s.getVersion),
		rt("PATCH", api2+"/model-versions/update", modWrite, s.updateVersion),
		rt("POST", api2+"/model-versions/transition-stage", modWrite, s.transitionStage),
		rt("DELETE", api2+"/model-versions/delete", modWrite, s.deleteVersion),
		rt("GET", api2+"/model-versions/search", modRead, s.searchVersions),
		rt("GET", api2+"/model-versions/get-download-uri", modRead, s.downloadURI),
		rt("POST", api2+"/model-versions/set-tag", modWrite, s.versionTag(false)),
		rt("DELETE", api2+"/model-versions/delete-tag", modWrite, s.versionTag(true)),
	}
}

type aliasOut struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type versionOut struct {
	Name            string   `json:"name"`
	Version         string   `json:"version"`
	CreationTime    int64    `json:"creation_timestamp"`
	LastUpdatedTime int64    `json:"last_updated_timestamp"`
	UserID          string   `json:"user_id,omitempty"`
	Stage           string   `json:"current_stage"`
	Description     string   `json:"description"`
	Source          string   `json:"source"`
	RunID           string   `json:"run_id,omitempty"`
	Status          string   `json:"status"`
	StatusMessage   string   `json:"status_message,omitempty"`
	RunLink         string   `json:"run_link"`
	Tags            []kvOut  `json:"tags,omitempty"`
	Aliases         []string `json:"aliases,omitempty"`
	ModelID         string   `json:"model_id,omitempty"`
}

func versionJSON(v *registry.Version) versionOut {
	return versionOut{Name: v.Name, Version: strconv.Itoa(v.Version), CreationTime: v.CreationTime, LastUpdatedTime: v.LastUpdatedTime,
		UserID: v.UserID, Stage: v.Stage, Description: v.Description, Source: v.Source, RunID: v.RunID, Status: v.Status,
		StatusMessage: v.StatusMessage, RunLink: v.RunLink, Tags: kvs(v.Tags), Aliases: v.Aliases, ModelID: v.LoggedModelID}
}

type modelOut struct {
	Name            string       `json:"name"`
	CreationTime    int64        `json:"creation_timestamp"`
	LastUpdatedTime int64        `json:"last_updated_timestamp"`
	UserID          string       `json:"user_id,omitempty"`
	Description     string       `json:"description,omitempty"`
	Latest          []versionOut `json:"latest_versions,omitempty"`
	Tags            []kvOut      `json:"tags,omitempty"`
	Aliases         []aliasOut   `json:"aliases,omitempty"`
}

func modelJSON(m *registry.Model) modelOut {
	out := modelOut{Name: m.Name, CreationTime: m.CreationTime, LastUpdatedTime: m.LastUpdatedTime, UserID: m.CreatedBy,
		Description: m.Description, Tags: kvs(m.Tags)}
	for _, v := range m.Latest {
		v.Name = m.Name
		out.Latest = append(out.Latest, versionJSON(v))
	}
	for _, a := range m.Aliases {
		out.Aliases = append(out.Aliases, aliasOut{Alias: a.Alias, Version: strconv.Itoa(a.Version)})
	}
	return out
}

type nameIn struct {
	Name str `json:"name"`
}

func (s *Server) createModel(c *call) error {
	var in struct {
		Name        str    `json:"name"`
		Description str    `json:"description"`
		Tags        []kvIn `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	m, err := s.Registry.CreateModel(c.ctx, c.zone, c.project, string(in.Name), string(in.Description), kvsIn(in.Tags))
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"registered_model": modelJSON(m)})
}

func (s *Server) getModel(c *call) error {
	var in nameIn
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	m, err := s.Registry.GetModel(c.ctx, c.zone, c.project, string(in.Name))
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"registered_model": modelJSON(m)})
}

func (s *Server) renameModel(c *call) error {
	var in struct {
		Name    str `json:"name"`
		NewName str `json:"new_name"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	if err := required("new_name", string(in.NewName)); err != nil {
		return err
	}
	n := string(in.NewName)
	m, err := s.Registry.UpdateModel(c.ctx, c.zone, c.project, string(in.Name), registry.ModelChange{NewName: &n})
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"registered_model": modelJSON(m)})
}

func (s *Server) updateModel(c *call) error {
	var in struct {
		Name        str  `json:"name"`
		Description *str `json:"description"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	var ch registry.ModelChange
	if in.Description != nil {
		d := string(*in.Description)
		ch.Description = &d
	}
	m, err := s.Registry.UpdateModel(c.ctx, c.zone, c.project, string(in.Name), ch)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"registered_model": modelJSON(m)})
}

func (s *Server) deleteModel(c *call) error {
	var in nameIn
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	return s.logged(c, s.Registry.DeleteModel(c.ctx, c.zone, c.project, string(in.Name)))
}

func (s *Server) searchModels(c *call) error {
	var in searchIn
	if err := c.args(&in); err != nil {
		return err
	}
	p, err := in.parse(search.RegisteredModels, registry.DefaultSearchLimit, registry.MaxSearchLimit, true)
	if err != nil {
		return err
	}
	ms, err := s.Registry.SearchModels(c.ctx, c.zone, c.project, registry.ModelSearch{Filter: p.filter, OrderBy: p.order, Max: p.max + 1, Offset: p.offset})
	if err != nil {
		return err
	}
	out := struct {
		Models []modelOut `json:"registered_models,omitempty"`
		Next   string     `json:"next_page_token,omitempty"`
	}{}
	ms, out.Next = cut(ms, p)
	for _, m := range ms {
		out.Models = append(out.Models, modelJSON(m))
	}
	return c.ok(out)
}

func (s *Server) latestVersions(c *call) error {
	var in struct {
		Name   str  `json:"name"`
		Stages strs `json:"stages"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	vs, err := s.Registry.LatestVersions(c.ctx, c.zone, c.project, string(in.Name), in.Stages)
	if err != nil {
		return err
	}
	out := struct {
		Versions []versionOut `json:"model_versions,omitempty"`
	}{}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionJSON(v))
	}
	return c.ok(out)
}

func (s *Server) modelTag(del bool) func(c *call) error {
	return func(c *call) error {
		var in struct {
			Name  str `json:"name"`
			Key   str `json:"key"`
			Value str `json:"value"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		if err := required("name", string(in.Name)); err != nil {
			return err
		}
		return s.logged(c, s.Registry.SetModelTag(c.ctx, c.zone, c.project, string(in.Name), tracking.KeyVal{Key: string(in.Key), Value: string(in.Value)}, del))
	}
}

func versionNumber(v str) (int, error) {
	if err := required("version", string(v)); err != nil {
		return 0, err
	}
	return registry.ParseVersion(string(v))
}

func (s *Server) setAlias(c *call) error {
	var in struct {
		Name    str `json:"name"`
		Alias   str `json:"alias"`
		Version str `json:"version"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	n, err := versionNumber(in.Version)
	if err != nil {
		return err
	}
	return s.logged(c, s.Registry.SetAlias(c.ctx, c.zone, c.project, string(in.Name), string(in.Alias), n))
}

func (s *Server) deleteAlias(c *call) error {
	var in struct {
		Name  str `json:"name"`
		Alias str `json:"alias"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	return s.logged(c, s.Registry.DeleteAlias(c.ctx, c.zone, c.project, string(in.Name), string(in.Alias)))
}

func (s *Server) versionByAlias(c *call) error {
	var in struct {
		Name  str `json:"name"`
		Alias str `json:"alias"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	v, err := s.Registry.VersionByAlias(c.ctx, c.zone, c.project, string(in.Name), string(in.Alias))
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model_version": versionJSON(v)})
}

func (s *Server) createVersion(c *call) error {
	var in struct {
		Name        str    `json:"name"`
		Source      str    `json:"source"`
		RunID       str    `json:"run_id"`
		RunLink     str    `json:"run_link"`
		Description str    `json:"description"`
		ModelID     str    `json:"model_id"`
		Tags        []kvIn `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	if err := required("source", string(in.Source)); err != nil {
		return err
	}
	v, err := s.Registry.CreateVersion(c.ctx, c.zone, c.project, registry.VersionCreate{Name: string(in.Name), Source: string(in.Source),
		RunID: string(in.RunID), RunLink: string(in.RunLink), Description: string(in.Description), ModelID: string(in.ModelID), Tags: kvsIn(in.Tags)})
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model_version": versionJSON(v)})
}

type versionIn struct {
	Name    str `json:"name"`
	Version str `json:"version"`
}

func (in versionIn) check() (int, error) {
	if err := required("name", string(in.Name)); err != nil {
		return 0, err
	}
	return versionNumber(in.Version)
}

func (s *Server) getVersion(c *call) error {
	var in versionIn
	if err := c.args(&in); err != nil {
		return err
	}
	n, err := in.check()
	if err != nil {
		return err
	}
	v, err := s.Registry.GetVersion(c.ctx, c.zone, c.project, string(in.Name), n)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model_version": versionJSON(v)})
}

func (s *Server) updateVersion(c *call) error {
	var in struct {
		versionIn
		Description *str `json:"description"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	n, err := in.check()
	if err != nil {
		return err
	}
	var ch registry.VersionChange
	if in.Description != nil {
		d := string(*in.Description)
		ch.Description = &d
	}
	v, err := s.Registry.UpdateVersion(c.ctx, c.zone, c.project, string(in.Name), n, ch)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model_version": versionJSON(v)})
}

func (s *Server) transitionStage(c *call) error {
	var in struct {
		versionIn
		Stage   str     `json:"stage"`
		Archive boolean `json:"archive_existing_versions"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	n, err := in.check()
	if err != nil {
		return err
	}
	if err := required("stage", string(in.Stage)); err != nil {
		return err
	}
	st := string(in.Stage)
	v, err := s.Registry.UpdateVersion(c.ctx, c.zone, c.project, string(in.Name), n, registry.VersionChange{Stage: &st, Archive: bool(in.Archive)})
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model_version": versionJSON(v)})
}

func (s *Server) deleteVersion(c *call) error {
	var in versionIn
	if err := c.args(&in); err != nil {
		return err
	}
	n, err := in.check()
	if err != nil {
		return err
	}
	return s.logged(c, s.Registry.DeleteVersion(c.ctx, c.zone, c.project, string(in.Name), n))
}

func (s *Server) searchVersions(c *call) error {
	var in searchIn
	if err := c.args(&in); err != nil {
		return err
	}
	p, err := in.parse(search.ModelVersions, 10000, 200000, true)
	if err != nil {
		return err
	}
	vs, err := s.Registry.SearchVersions(c.ctx, c.zone, c.project, registry.VersionSearch{Filter: p.filter, OrderBy: p.order, Max: p.max + 1, Offset: p.offset})
	if err != nil {
		return err
	}
	out := struct {
		Versions []versionOut `json:"model_versions,omitempty"`
		Next     string       `json:"next_page_token,omitempty"`
	}{}
	vs, out.Next = cut(vs, p)
	for _, v := range vs {
		out.Versions = append(out.Versions, versionJSON(v))
	}
	return c.ok(out)
}

func (s *Server) downloadURI(c *call) error {
	var in versionIn
	if err := c.args(&in); err != nil {
		return err
	}
	n, err := in.check()
	if err != nil {
		return err
	}
	uri, err := s.Registry.DownloadURI(c.ctx, c.zone, c.project, string(in.Name), n)
	if err != nil {
		return err
	}
	return c.ok(map[string]string{"artifact_uri": uri})
}

func (s *Server) versionTag(del bool) func(c *call) error {
	return func(c *call) error {
		var in struct {
			versionIn
			Key   str `json:"key"`
			Value str `json:"value"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		n, err := in.check()
		if err != nil {
			return err
		}
		return s.logged(c, s.Registry.SetVersionTag(c.ctx, c.zone, c.project, string(in.Name), n, tracking.KeyVal{Key: string(in.Key), Value: string(in.Value)}, del))
	}
}
