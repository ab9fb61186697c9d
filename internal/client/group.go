package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// ListGroups returns one page of groups and the token of the next page.
func (c *Client) ListGroups(ctx context.Context, page enclave.Page) ([]*identity.Group, string, error) {
	return list[identity.Group](ctx, c, "/groups", nil, page)
}

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, in identity.GroupCreate) (*identity.Group, error) {
	return send[identity.Group](ctx, c, http.MethodPost, "/groups", in)
}

// GetGroup returns the group called name.
func (c *Client) GetGroup(ctx context.Context, name string) (*identity.Group, error) {
	p, err := escapePath("groups", name)
	if err != nil {
		return nil, err
	}
	return get[identity.Group](ctx, c, p)
}

// DeleteGroup deletes the group called name.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	p, err := escapePath("groups", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// ListGroupMembers returns one page of a group's members.
func (c *Client) ListGroupMembers(ctx context.Context, group string, page enclave.Page) ([]*identity.GroupMember, string, error) {
	p, err := escapePath("groups", group, "members")
	if err != nil {
		return nil, "", err
	}
	return list[identity.GroupMember](ctx, c, p, nil, page)
}

// AddGroupMember adds a user or service principal to a group.
func (c *Client) AddGroupMember(ctx context.Context, group, member string) (*identity.GroupMember, error) {
	p, err := escapePath("groups", group, "members")
	if err != nil {
		return nil, err
	}
	return send[identity.GroupMember](ctx, c, http.MethodPost, p, identity.MemberAdd{Member: member})
}

// RemoveGroupMember removes a member from a group.
func (c *Client) RemoveGroupMember(ctx context.Context, group, member string) error {
	p, err := escapePath("groups", group, "members", member)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
