package api

import "github.com/enclave-ml/enclave/internal/access"

// identityRoutes are the routes of people, groups, service principals,
// credentials, MFA and platform settings. The sign-in steps are public;
// routes that return a secret (a token, a client secret, a TOTP secret,
// recovery codes) are secretResponse, so a replay store never holds one;
// routes whose request carries one (a password, a code, a client secret)
// are secretRequest, so that not even a hash of it is kept for idempotency.
func (s *Server) identityRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/v1/auth/login/mfa", kind: "token", public: true, secretRequest: true, secretResponse: true, summary: "Complete a password sign-in with a TOTP or recovery code", tag: "auth", in: loginMFARequest{}, out: loginResponse{}, status: 200, handle: s.loginMFA},
		{method: "POST", pattern: "/api/v1/auth/token", kind: "token", public: true, secretRequest: true, secretResponse: true, summary: "Sign a service principal in with a client secret", tag: "auth", in: clientTokenRequest{}, out: loginResponse{}, status: 200, handle: s.clientToken},
		{method: "POST", pattern: "/api/v1/auth/password", kind: "user", perm: access.SelfPasswordWrite, secretRequest: true, summary: "Set or change the caller's password", tag: "auth", in: passwordChangeIn, status: 204, handle: s.changePassword},
		{method: "POST", pattern: "/api/v1/auth/mfa/totp", kind: "user", perm: access.SelfMFAWrite, secretResponse: true, summary: "Start TOTP enrolment: returns the secret and its otpauth:// URI", tag: "auth", out: mfaEnrollmentOut, status: 201, handle: s.enrollTOTP},
		{method: "POST", pattern: "/api/v1/auth/mfa/totp/confirm", kind: "user", perm: access.SelfMFAWrite, secretRequest: true, secretResponse: true, summary: "Confirm TOTP enrolment with a code: returns ten recovery codes, once", tag: "auth", in: mfaCodeIn, out: recoveryCodesOut, status: 200, handle: s.confirmTOTP},
		{method: "DELETE", pattern: "/api/v1/auth/mfa/totp", kind: "user", perm: access.SelfMFAWrite, secretRequest: true, summary: "Remove the caller's MFA, proven with a current code", tag: "auth", in: mfaCodeIn, status: 204, handle: s.removeTOTP},
		{method: "GET", pattern: "/api/v1/auth/tokens", perm: access.SelfRead, summary: "List the caller's tokens, newest first", tag: "auth", out: tokenList, status: 200, query: tokenQuery, handle: s.listTokens},
		{method: "POST", pattern: "/api/v1/auth/tokens", kind: "token", perm: access.SelfTokensWrite, secretResponse: true, summary: "Create a personal access token, shown once", tag: "auth", in: tokenCreate, out: tokenIssued, status: 201, handle: s.createToken},
		{method: "DELETE", pattern: "/api/v1/auth/tokens/{id}", kind: "token", perm: access.SelfTokensWrite, summary: "Revoke one of the caller's tokens", tag: "auth", status: 204, handle: s.revokeToken},

		{method: "GET", pattern: "/api/v1/users", perm: access.UsersRead, summary: "List users", tag: "users", out: userList, status: 200, query: pageQuery, handle: s.listUsers},
		{method: "POST", pattern: "/api/v1/users", kind: "user", perm: access.UsersWrite, secretRequest: true, summary: "Create a user, optionally with a first password", tag: "users", in: userCreate, out: userOut, status: 201, handle: s.createUser},
		{method: "GET", pattern: "/api/v1/users/{user}", perm: access.UsersRead, summary: "Get a user", tag: "users", out: userOut, status: 200, handle: s.getUser},
		{method: "PATCH", pattern: "/api/v1/users/{user}", kind: "user", perm: access.UsersWrite, secretRequest: true, summary: "Update, disable, enable or reset the password of a user", tag: "users", in: userUpdate, out: userOut, status: 200, handle: s.updateUser},
		{method: "DELETE", pattern: "/api/v1/users/{user}", kind: "user", perm: access.UsersWrite, summary: "Delete a user: its tokens stop working at once", tag: "users", status: 204, handle: s.deleteUser},
		{method: "DELETE", pattern: "/api/v1/users/{user}/mfa", kind: "user", perm: access.UsersWrite, summary: "Reset a user's MFA and revoke all their tokens", tag: "users", status: 204, handle: s.resetUserMFA},
		{method: "GET", pattern: "/api/v1/users/{user}/tokens", perm: access.UsersRead, summary: "List a user's tokens, newest first", tag: "users", out: tokenList, status: 200, query: tokenQuery, handle: s.listUserTokens},
		{method: "DELETE", pattern: "/api/v1/users/{user}/tokens/{id}", kind: "token", perm: access.UsersWrite, summary: "Revoke one of a user's tokens", tag: "users", status: 204, handle: s.revokeUserToken},

		{method: "GET", pattern: "/api/v1/groups", perm: access.GroupsRead, summary: "List groups", tag: "groups", out: groupList, status: 200, query: pageQuery, handle: s.listGroups},
		{method: "POST", pattern: "/api/v1/groups", kind: "group", perm: access.GroupsWrite, summary: "Create a group", tag: "groups", in: groupCreate, out: groupOut, status: 201, handle: s.createGroup},
		{method: "GET", pattern: "/api/v1/groups/{group}", perm: access.GroupsRead, summary: "Get a group", tag: "groups", out: groupOut, status: 200, handle: s.getGroup},
		{method: "PATCH", pattern: "/api/v1/groups/{group}", kind: "group", perm: access.GroupsWrite, summary: "Update a group's description", tag: "groups", in: groupUpdate, out: groupOut, status: 200, handle: s.updateGroup},
		{method: "DELETE", pattern: "/api/v1/groups/{group}", kind: "group", perm: access.GroupsWrite, summary: "Delete a group and its memberships", tag: "groups", status: 204, handle: s.deleteGroup},
		{method: "GET", pattern: "/api/v1/groups/{group}/members", perm: access.GroupsRead, summary: "List a group's members", tag: "groups", out: memberList, status: 200, query: pageQuery, handle: s.listGroupMembers},
		{method: "POST", pattern: "/api/v1/groups/{group}/members", kind: "group-member", perm: access.GroupsWrite, summary: "Add a user or service principal to a group", tag: "groups", in: memberAdd, out: memberOut, status: 201, handle: s.addGroupMember},
		{method: "DELETE", pattern: "/api/v1/groups/{group}/members/{member}", kind: "group-member", perm: access.GroupsWrite, summary: "Remove a member from a group", tag: "groups", status: 204, handle: s.removeGroupMember},

		{method: "GET", pattern: "/api/v1/service-principals", perm: access.ServicePrincipalsRead, summary: "List service principals", tag: "service-principals", out: spList, status: 200, query: append([]param{{"service_kind", "only service principals of this kind"}}, pageQuery...), handle: s.listServicePrincipals},
		{method: "POST", pattern: "/api/v1/service-principals", kind: "service-principal", perm: access.ServicePrincipalsWrite, summary: "Create a service principal", tag: "service-principals", in: spCreate, out: spOut, status: 201, handle: s.createServicePrincipal},
		{method: "GET", pattern: "/api/v1/service-principals/{sp}", perm: access.ServicePrincipalsRead, summary: "Get a service principal", tag: "service-principals", out: spOut, status: 200, handle: s.getServicePrincipal},
		{method: "PATCH", pattern: "/api/v1/service-principals/{sp}", kind: "service-principal", perm: access.ServicePrincipalsWrite, summary: "Update, disable or enable a service principal", tag: "service-principals", in: spUpdate, out: spOut, status: 200, handle: s.updateServicePrincipal},
		{method: "DELETE", pattern: "/api/v1/service-principals/{sp}", kind: "service-principal", perm: access.ServicePrincipalsWrite, summary: "Delete a service principal and revoke its secrets", tag: "service-principals", status: 204, handle: s.deleteServicePrincipal},
		{method: "GET", pattern: "/api/v1/service-principals/{sp}/secrets", perm: access.ServicePrincipalsRead, summary: "List a service principal's client secrets", tag: "service-principals", out: secretList, status: 200, handle: s.listClientSecrets},
		{method: "POST", pattern: "/api/v1/service-principals/{sp}/secrets", kind: "service-principal-secret", perm: access.ServicePrincipalSecretsWrite, secretResponse: true, summary: "Create a client secret, shown once", tag: "service-principals", in: secretCreate, out: secretIssued, status: 201, handle: s.createClientSecret},
		{method: "DELETE", pattern: "/api/v1/service-principals/{sp}/secrets/{id}", kind: "service-principal-secret", perm: access.ServicePrincipalSecretsWrite, summary: "Revoke a client secret and the tokens obtained with it", tag: "service-principals", status: 204, handle: s.revokeClientSecret},

		{method: "GET", pattern: "/api/v1/settings", perm: access.SettingsRead, summary: "Platform security settings", tag: "settings", out: settingsOut, status: 200, handle: s.getSettings},
		{method: "PATCH", pattern: "/api/v1/settings", kind: "settings", perm: access.SettingsWrite, summary: "Change platform security settings", tag: "settings", in: settingsUpdate, out: settingsOut, status: 200, handle: s.updateSettings},
	}
}
