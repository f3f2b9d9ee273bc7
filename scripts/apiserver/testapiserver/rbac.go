// RBAC for users other than the admin, so that tests can see what a user with a given Role may do (kubeoc's errors
// name the permission that is missing; the README's Roles are checked against this).
//
// Authentication: a bearer token "user:<name>" is the user <name> (groups system:authenticated); every other request
// stays the admin (system:masters), as before. Authorization of such a user follows Kubernetes RBAC: the rules of the
// Roles and ClusterRoles bound to the user (RoleBindings in the request's namespace, ClusterRoleBindings) must cover
// the request's (apiGroup, resource[/subresource], verb, name), decided by the real rule-covering code of
// k8s.io/component-helpers (the one RBAC's escalation check uses). Non-resource requests (discovery, /version,
// /healthz) are allowed, as system:discovery and system:public-info-viewer allow them to every authenticated user.
// Aggregated ClusterRoles are not expanded.
package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

func authenticate(req *http.Request) (*authenticator.Response, bool, error) {
	if token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer user:"); ok && token != "" {
		return &authenticator.Response{User: &user.DefaultInfo{Name: token, Groups: []string{user.AllAuthenticated}}}, true, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: "test-admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}}}, true, nil
}

type rbacAuthorizer struct{}

func (rbacAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	for _, g := range u.GetGroups() {
		if g == user.SystemPrivilegedGroup {
			return authorizer.DecisionAllow, "", nil
		}
	}
	if !a.IsResourceRequest() {
		return authorizer.DecisionAllow, "", nil
	}
	resource := a.GetResource()
	if a.GetSubresource() != "" {
		resource += "/" + a.GetSubresource()
	}
	want := rbacv1.PolicyRule{APIGroups: []string{a.GetAPIGroup()}, Resources: []string{resource}, Verbs: []string{a.GetVerb()}}
	if a.GetName() != "" {
		want.ResourceNames = []string{a.GetName()}
	}
	rules, err := rulesFor(ctx, u, a.GetNamespace())
	if err != nil {
		return authorizer.DecisionNoOpinion, "", err
	}
	if ok, _ := rbacvalidation.Covers(rules, []rbacv1.PolicyRule{want}); ok {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, fmt.Sprintf("no RBAC rule of user %q allows it", u.GetName()), nil
}

func subjectIs(subjects []rbacv1.Subject, u user.Info) bool {
	for _, s := range subjects {
		if s.Kind == rbacv1.UserKind && s.Name == u.GetName() {
			return true
		}
		for _, g := range u.GetGroups() {
			if s.Kind == rbacv1.GroupKind && s.Name == g {
				return true
			}
		}
	}
	return false
}

func list(ctx context.Context, plural, ns string) (runtime.Object, error) {
	return stores[plural].List(genericapirequest.WithNamespace(ctx, ns), &metainternalversion.ListOptions{})
}

// rulesFor: the rules of every (Cluster)Role bound to u, for a request in namespace ns.
func rulesFor(ctx context.Context, u user.Info, ns string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	// a binding to a role that does not exist grants nothing (as in RBAC)
	roleRules := func(ref rbacv1.RoleRef, bindingNs string) {
		if ref.Kind == "ClusterRole" {
			if obj, err := get(ctx, "clusterroles", "", ref.Name); err == nil {
				rules = append(rules, obj.(*rbacv1.ClusterRole).Rules...)
			}
		} else if obj, err := get(ctx, "roles", bindingNs, ref.Name); err == nil {
			rules = append(rules, obj.(*rbacv1.Role).Rules...)
		}
	}
	crbs, err := list(ctx, "clusterrolebindings", "")
	if err != nil {
		return nil, err
	}
	for _, b := range crbs.(*rbacv1.ClusterRoleBindingList).Items {
		if subjectIs(b.Subjects, u) {
			roleRules(b.RoleRef, "")
		}
	}
	if ns != "" {
		rbs, err := list(ctx, "rolebindings", ns)
		if err != nil {
			return nil, err
		}
		for _, b := range rbs.(*rbacv1.RoleBindingList).Items {
			if subjectIs(b.Subjects, u) {
				roleRules(b.RoleRef, ns)
			}
		}
	}
	return rules, nil
}
