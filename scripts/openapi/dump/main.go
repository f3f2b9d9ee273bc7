// oa-dump: write the OpenAPI v2 definitions of the Kubernetes built-in types as one JSON document
// ({"info": ..., "definitions": {...}}), the data behind our offline manifest validation
// (test/util/k8s-validate.ts). Run by scripts/openapi/generate.sh, built by scripts/apiserver/provision.sh.
//
// The definitions come from openapi-gen (package kubeopencode.local/openapi, generated from the
// packages in scripts/apiserver/openapi-packages.txt) plus the pre-generated apiextensions ones.
// openapi-gen output lacks x-kubernetes-group-version-kind; the real API server adds it when serving
// /openapi/v2, and so do we, with the same namer over a scheme of the same groups: validators use it
// to map apiVersion/kind to a definition.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	aev1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	aegenerated "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	oagen "kubeopencode.local/openapi"
)

func main() {
	source := flag.String("source", "", "free text recorded as info.source (versions the definitions come from)")
	withDescriptions := flag.Bool("with-descriptions", false, "keep description texts (4x larger output)")
	flag.Parse()

	// Groups whose kinds get x-kubernetes-group-version-kind. Must cover the packages given to
	// openapi-gen; a definition of a package missing here simply has no GVK (it is a nested type then).
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, coordinationv1.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, policyv1.AddToScheme, autoscalingv1.AddToScheme,
		autoscalingv2.AddToScheme, eventsv1.AddToScheme, discoveryv1.AddToScheme, schedulingv1.AddToScheme,
		storagev1.AddToScheme, aev1.AddToScheme,
	} {
		utilruntime.Must(add(scheme))
	}
	namer := openapinamer.NewDefinitionNamer(scheme)

	ref := func(name string) spec.Ref { return spec.MustCreateRef("#/definitions/" + name) }
	defs := map[string]common.OpenAPIDefinition{}
	for _, get := range []common.GetOpenAPIDefinitions{oagen.GetOpenAPIDefinitions, aegenerated.GetOpenAPIDefinitions} {
		for name, def := range get(ref) {
			defs[name] = def
		}
	}

	out := map[string]spec.Schema{}
	for name, def := range defs {
		s := def.Schema
		if _, ext := namer.GetDefinitionName(name); ext != nil {
			for k, v := range ext {
				s.AddExtension(k, v)
			}
		}
		// The v2 fallback (e.g. IntOrString as "string, format int-or-string") only repeats, less
		// precisely, the v3 shape we keep (oneOf integer/string).
		delete(s.Extensions, "x-kubernetes-v2-schema")
		if !*withDescriptions {
			s = stripDescriptions(s)
		}
		out[name] = s
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	err := enc.Encode(map[string]any{
		"info": map[string]any{
			"generator": "scripts/openapi/generate.sh (openapi-gen + scripts/openapi/dump); do not edit",
			"source":    *source,
		},
		"definitions": out,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "oa-dump:", err)
		os.Exit(1)
	}
}

// stripDescriptions removes documentation text recursively; validation does not need it and it
// quadruples the size of the committed JSON.
func stripDescriptions(s spec.Schema) spec.Schema {
	s.Description = ""
	if s.Properties != nil {
		props := make(map[string]spec.Schema, len(s.Properties))
		for k, v := range s.Properties {
			props[k] = stripDescriptions(v)
		}
		s.Properties = props
	}
	if s.Items != nil {
		items := *s.Items
		if items.Schema != nil {
			c := stripDescriptions(*items.Schema)
			items.Schema = &c
		}
		for i := range items.Schemas {
			items.Schemas[i] = stripDescriptions(items.Schemas[i])
		}
		s.Items = &items
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		ap := *s.AdditionalProperties
		c := stripDescriptions(*ap.Schema)
		ap.Schema = &c
		s.AdditionalProperties = &ap
	}
	for _, list := range []*[]spec.Schema{&s.AllOf, &s.AnyOf, &s.OneOf} {
		for i := range *list {
			(*list)[i] = stripDescriptions((*list)[i])
		}
	}
	return s
}
