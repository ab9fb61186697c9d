package access

import "context"

// AuthorizeSomewhere implements Authorizer.
func (a AdminOnly) AuthorizeSomewhere(ctx context.Context, p Permission) error {
	return a.Authorize(ctx, p, PlatformScope)
}
