package access

// Plane separates managing resources from using what they hold.
type Plane string

// The planes. Control-plane actions create, change and delete resources and
// read their metadata; data-plane actions read or write the data inside
// them, score models and approve transfers. Roles are written so that
// holding one plane never implies the other.
const (
	ControlPlane Plane = "control"
	DataPlane    Plane = "data"
)

// Action describes one permission of the catalog.
type Action struct {
	Permission  Permission `json:"permission"`
	Plane       Plane      `json:"plane"`
	Description string     `json:"description"`
}

// The permissions of features that later issues build. They are declared
// now so that the built-in roles, which never change shape per feature, can
// be reviewed whole.
const (
	AssignmentsRead    Permission = "access/assignments/read"
	AssignmentsWrite   Permission = "access/assignments/write"
	ElevationsApprove  Permission = "access/elevations/approve"
	SelfElevationWrite Permission = "self/elevations/write"
)

// Catalog lists every permission Enclave knows, by plane. Built-in roles
// and token scopes are patterns over these.
var Catalog = []Action{
	{ZonesRead, ControlPlane, "see zones"},
	{ZonesWrite, ControlPlane, "create and change zones"},
	{ZonesDelete, ControlPlane, "delete zones"},
	{ProjectsRead, ControlPlane, "see projects"},
	{ProjectsWrite, ControlPlane, "create and change projects"},
	{ProjectsDelete, ControlPlane, "delete projects"},
	{EnvironmentsRead, ControlPlane, "see environments"},
	{EnvironmentsWrite, ControlPlane, "certify and retire environments"},
	{TasksRead, ControlPlane, "see background tasks"},
	{TasksWrite, ControlPlane, "retry dead background tasks"},
	{MetricsRead, ControlPlane, "scrape platform metrics"},
	{SettingsRead, ControlPlane, "see platform security settings"},
	{SettingsWrite, ControlPlane, "change platform security settings"},
	{UsersRead, ControlPlane, "see users"},
	{UsersWrite, ControlPlane, "create, change and disable users"},
	{GroupsRead, ControlPlane, "see groups"},
	{GroupsWrite, ControlPlane, "change groups and their members"},
	{ServicePrincipalsRead, ControlPlane, "see service principals"},
	{ServicePrincipalsWrite, ControlPlane, "create and change service principals"},
	{ServicePrincipalSecretsWrite, ControlPlane, "issue and revoke service principal secrets"},
	{AssignmentsRead, ControlPlane, "see role assignments"},
	{AssignmentsWrite, ControlPlane, "grant and revoke roles"},
	{ElevationsApprove, ControlPlane, "approve or reject just-in-time elevations"},
	{"keys/read", ControlPlane, "see key providers and keys"},
	{"keys/write", ControlPlane, "rotate and destroy keys"},
	{"audit/events/read", ControlPlane, "read the audit trail"},
	{"audit/sinks/read", ControlPlane, "see audit sinks and their health"},
	{"audit/sinks/write", ControlPlane, "configure audit sinks"},
	{"audit/verify", ControlPlane, "verify the audit chain and export evidence bundles"},
	{"policy/definitions/read", ControlPlane, "see policies"},
	{"policy/definitions/write", ControlPlane, "write and assign policies"},
	{"policy/compliance/read", ControlPlane, "see compliance"},
	{"policy/compliance/write", ControlPlane, "record compliance scans"},
	{"datasets/read", ControlPlane, "see datasets, versions and schemas"},
	{"datasets/write", ControlPlane, "catalog and classify datasets"},
	{"datasets/contents/read", DataPlane, "read dataset contents"},
	{"datasets/contents/write", DataPlane, "write dataset contents"},
	{"airlock/imports/read", ControlPlane, "see import requests"},
	{"airlock/imports/write", DataPlane, "upload and submit imports"},
	{"airlock/imports/approve", DataPlane, "approve or reject imports"},
	{"airlock/exports/read", ControlPlane, "see export requests and their reports"},
	{"airlock/exports/write", DataPlane, "request exports"},
	{"airlock/exports/approve", DataPlane, "approve or reject exports"},
	{"airlock/quarantine/read", ControlPlane, "see requests the malware scan blocked, with their signatures"},
	{"experiments/read", ControlPlane, "see experiments, runs and metrics"},
	{"experiments/write", DataPlane, "track experiments and log runs"},
	{"models/read", ControlPlane, "see registered models"},
	{"models/write", DataPlane, "register models and versions"},
	{"models/artifacts/read", DataPlane, "download model artifacts"},
	{"jobs/read", ControlPlane, "see training jobs"},
	{"jobs/write", DataPlane, "run and cancel training jobs"},
	{"compute/read", ControlPlane, "see compute targets"},
	{"compute/write", ControlPlane, "create and size compute targets"},
	{"releases/read", ControlPlane, "see promotions and evidence"},
	{"releases/write", ControlPlane, "promote models between environments"},
	{"releases/approve", DataPlane, "approve releases"},
	{"tests/read", ControlPlane, "see test runs"},
	{"tests/write", DataPlane, "run test harnesses"},
	{"endpoints/read", ControlPlane, "see endpoints and deployments"},
	{"endpoints/write", ControlPlane, "deploy and configure endpoints"},
	{"endpoints/score", DataPlane, "call an endpoint"},
	{"endpoints/traffic/read", DataPlane, "read the traffic log and captured payloads"},
	{"monitors/read", ControlPlane, "see monitors and alerts"},
	{"monitors/write", ControlPlane, "configure monitors"},
	{"budgets/read", ControlPlane, "see budgets and cost"},
	{"budgets/write", ControlPlane, "set budgets"},
	{SelfRead, ControlPlane, "see one's own identity"},
	{SelfTokensWrite, ControlPlane, "create and revoke one's own tokens"},
	{SelfMFAWrite, ControlPlane, "enrol in and remove MFA"},
	{SelfPasswordWrite, ControlPlane, "change one's own password"},
	{SelfElevationWrite, ControlPlane, "request and cancel one's own elevations"},
}

// PlaneOf returns the plane of a catalogued permission.
func PlaneOf(p Permission) (Plane, bool) {
	for _, a := range Catalog {
		if a.Permission == p {
			return a.Plane, true
		}
	}
	return "", false
}
