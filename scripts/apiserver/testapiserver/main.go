// test-apiserver: a Kubernetes API server for integration tests, built only from Debian's Go packages
// (there is no kube-apiserver binary we can install here, see shared research §1).
//
// It serves a chosen set of built-in types with the real k8s.io/apiserver machinery (etcd3 storage,
// watch cache, resourceVersions and 409s, label/field selectors, JSON/merge/strategic-merge patches,
// server-side apply with real OpenAPI type info, dry-run, fieldValidation=Strict) and
// CustomResourceDefinitions through the real apiextensions-apiserver, all on one endpoint.
//
// Deliberately absent (as in envtest): controllers, scheduler, kubelet, admission. Every request is a
// system:masters user, except a bearer token "user:<name>", which is an RBAC-checked user (rbac.go).
// Built-in types get no defaulting and only metadata
// validation; see scripts/apiserver/README.md. For tests only.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	aev1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	aev1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	aeapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	aeoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	aegenerated "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	discoveryendpoint "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"

	oagen "kubeopencode.local/openapi"
)

// resource describes one served built-in resource.
type resource struct {
	gv         schema.GroupVersion
	kind       string
	plural     string
	namespaced bool
	status     bool // has a /status subresource
	// name rule as in the real API server's validation for this kind
	nameFn apivalidation.ValidateNameFunc
	maxLen int // extra name length limit some kinds have (0 = none)
}

var (
	subdomain = apivalidation.NameIsDNSSubdomain
	label     = apivalidation.NameIsDNSLabel
	dns1035   = apivalidation.NameIsDNS1035Label
	// RBAC objects only need to be valid path segments (e.g. "system:controller:foo").
	pathSegment = func(name string, prefix bool) []string { return validatePathSegment(name) }

	resources = []resource{
		{corev1.SchemeGroupVersion, "Namespace", "namespaces", false, true, label, 0},
		{corev1.SchemeGroupVersion, "ConfigMap", "configmaps", true, false, subdomain, 0},
		{corev1.SchemeGroupVersion, "Secret", "secrets", true, false, subdomain, 0},
		{corev1.SchemeGroupVersion, "ServiceAccount", "serviceaccounts", true, false, subdomain, 0},
		{corev1.SchemeGroupVersion, "Service", "services", true, true, dns1035, 0},
		// Read by the services/proxy and pods/log subresources (subresources.go); the harness registers them.
		{corev1.SchemeGroupVersion, "Endpoints", "endpoints", true, false, subdomain, 0},
		{corev1.SchemeGroupVersion, "Node", "nodes", false, true, subdomain, 0},
		{corev1.SchemeGroupVersion, "PersistentVolumeClaim", "persistentvolumeclaims", true, true, subdomain, 0},
		{corev1.SchemeGroupVersion, "Pod", "pods", true, true, subdomain, 0},
		{corev1.SchemeGroupVersion, "PodTemplate", "podtemplates", true, false, subdomain, 0},
		{corev1.SchemeGroupVersion, "Event", "events", true, false, subdomain, 0},
		{appsv1.SchemeGroupVersion, "Deployment", "deployments", true, true, subdomain, 0},
		{appsv1.SchemeGroupVersion, "ReplicaSet", "replicasets", true, true, subdomain, 0},
		{appsv1.SchemeGroupVersion, "StatefulSet", "statefulsets", true, true, subdomain, 0},
		// Job names end up in the batch.kubernetes.io/job-name label (63 chars); CronJob names get an
		// 11-char suffix for their Jobs, hence the real server's limit of 52.
		{batchv1.SchemeGroupVersion, "Job", "jobs", true, true, subdomain, 63},
		{batchv1.SchemeGroupVersion, "CronJob", "cronjobs", true, true, subdomain, 52},
		{coordinationv1.SchemeGroupVersion, "Lease", "leases", true, false, subdomain, 0},
		{rbacv1.SchemeGroupVersion, "Role", "roles", true, false, pathSegment, 0},
		{rbacv1.SchemeGroupVersion, "RoleBinding", "rolebindings", true, false, pathSegment, 0},
		{rbacv1.SchemeGroupVersion, "ClusterRole", "clusterroles", false, false, pathSegment, 0},
		{rbacv1.SchemeGroupVersion, "ClusterRoleBinding", "clusterrolebindings", false, false, pathSegment, 0},
		{networkingv1.SchemeGroupVersion, "NetworkPolicy", "networkpolicies", true, false, subdomain, 0},
		{policyv1.SchemeGroupVersion, "PodDisruptionBudget", "poddisruptionbudgets", true, true, subdomain, 0},
		// Stored separately from core/v1 Events: the real server converts between the two, we have no conversions.
		{eventsv1.SchemeGroupVersion, "Event", "events", true, false, subdomain, 0},
	}

	Scheme = runtime.NewScheme()
	Codecs = serializer.NewCodecFactory(Scheme)
)

func validatePathSegment(name string) []string {
	for _, bad := range []string{".", ".."} {
		if name == bad {
			return []string{fmt.Sprintf("may not be '%s'", bad)}
		}
	}
	if strings.ContainsAny(name, "/%") {
		return []string{"may not contain '/' or '%'"}
	}
	return nil
}

func groupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, r := range resources {
		if !seen[r.gv] {
			seen[r.gv] = true
			out = append(out, r.gv)
		}
	}
	return out
}

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, coordinationv1.AddToScheme,
		rbacv1.AddToScheme, networkingv1.AddToScheme, policyv1.AddToScheme, eventsv1.AddToScheme,
	} {
		utilruntime.Must(add(Scheme))
	}
	// The generic registry stores and converts through an "internal" version. Registering the versioned
	// Go types as the internal version too means no conversion functions are needed (k8s.io/kubernetes,
	// which has the real internal types, is not packaged).
	for _, gv := range groupVersions() {
		for kind, t := range Scheme.KnownTypes(gv) {
			if !strings.HasPrefix(t.PkgPath(), "k8s.io/api/") {
				continue
			}
			internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
			Scheme.AddKnownTypeWithName(internal.WithKind(kind), reflect.New(t).Interface().(runtime.Object))
		}
	}
}

// ---- a generic strategy for every built-in type -----------------------------------------------

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	res resource
}

func structField(obj runtime.Object, name string) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName(name)
}

func hasSpecAndStatus(obj runtime.Object) bool {
	return structField(obj, "Spec").IsValid() && structField(obj, "Status").IsValid()
}

func (s strategy) NamespaceScoped() bool { return s.res.namespaced }

func (s strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	// Like the real strategies: status is not settable on create for types with a status subresource,
	// and metadata.generation starts at 1 for types with a spec.
	if s.res.status && hasSpecAndStatus(obj) {
		st := structField(obj, "Status")
		st.Set(reflect.Zero(st.Type()))
	}
	if structField(obj, "Spec").IsValid() {
		m, _ := meta.Accessor(obj)
		m.SetGeneration(1)
	}
	normalize(obj)
	if ns, ok := obj.(*corev1.Namespace); ok {
		// NetworkPolicies select namespaces by this label; the real server always sets it.
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
		ns.Status.Phase = corev1.NamespaceActive
	}
}

func (s strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	spec, oldSpec := structField(obj, "Spec"), structField(old, "Spec")
	if s.res.status && hasSpecAndStatus(obj) {
		structField(obj, "Status").Set(structField(old, "Status")) // status only changes through /status
	}
	m, _ := meta.Accessor(obj)
	om, _ := meta.Accessor(old)
	m.SetGeneration(om.GetGeneration())
	if spec.IsValid() && !apiequality.Semantic.DeepEqual(spec.Interface(), oldSpec.Interface()) {
		m.SetGeneration(om.GetGeneration() + 1)
	}
	normalize(obj)
	if ns, ok := obj.(*corev1.Namespace); ok {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
}

// normalize reproduces conversions the real server does on the way in that clients observe.
func normalize(obj runtime.Object) {
	// Secret.stringData is write-only: the real server merges it into data (stringData wins).
	if sec, ok := obj.(*corev1.Secret); ok && len(sec.StringData) > 0 {
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		for k, v := range sec.StringData {
			sec.Data[k] = []byte(v)
		}
		sec.StringData = nil
	}
}

func (s strategy) validateName(m metav1.Object) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaAccessor(m, s.res.namespaced, s.res.nameFn, field.NewPath("metadata"))
	if s.res.maxLen > 0 && len(m.GetName()) > s.res.maxLen {
		errs = append(errs, field.TooLong(field.NewPath("metadata", "name"), m.GetName(), s.res.maxLen))
	}
	return errs
}

func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return s.validateName(m)
}

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	om, _ := meta.Accessor(old)
	return apivalidation.ValidateObjectMetaAccessorUpdate(m, om, field.NewPath("metadata"))
}

func (strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string      { return nil }
func (strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string { return nil }
func (strategy) Canonicalize(obj runtime.Object)                                        {}
func (strategy) AllowCreateOnUpdate() bool                                              { return false }
func (strategy) AllowUnconditionalUpdate() bool                                         { return true }

// statusStrategy is used for the /status subresource: only .status may change.
type statusStrategy struct{ strategy }

func (statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if spec := structField(obj, "Spec"); spec.IsValid() {
		spec.Set(structField(old, "Spec"))
	}
	m, _ := meta.Accessor(obj)
	om, _ := meta.Accessor(old)
	m.SetGeneration(om.GetGeneration())
	m.SetLabels(om.GetLabels())
	m.SetAnnotations(om.GetAnnotations())
	m.SetFinalizers(om.GetFinalizers())
	m.SetOwnerReferences(om.GetOwnerReferences())
}

// StatusREST exposes get/update (and so patch/apply) of one store with the status strategy.
type StatusREST struct{ store *genericregistry.Store }

func (r *StatusREST) New() runtime.Object { return r.store.New() }
func (r *StatusREST) Destroy()            {}
func (r *StatusREST) Get(ctx context.Context, name string, o *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, o)
}
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, cv rest.ValidateObjectFunc, uv rest.ValidateObjectUpdateFunc, force bool, o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// force=false: a status write never creates the object
	return r.store.Update(ctx, name, objInfo, cv, uv, false, o)
}

func newStorage(opts generic.RESTOptionsGetter, r resource) (map[string]rest.Storage, error) {
	s := strategy{Scheme, names.SimpleNameGenerator, r}
	gr := schema.GroupResource{Group: r.gv.Group, Resource: r.plural}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { o, _ := Scheme.New(r.gv.WithKind(r.kind)); return o },
		NewListFunc:               func() runtime.Object { o, _ := Scheme.New(r.gv.WithKind(r.kind + "List")); return o },
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: schema.GroupResource{Group: r.gv.Group, Resource: strings.ToLower(r.kind)},
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		TableConvertor:            rest.NewDefaultTableConvertor(gr),
	}
	attr := storage.DefaultClusterScopedAttr
	if r.namespaced {
		attr = storage.DefaultNamespaceScopedAttr
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: opts, AttrFunc: attr}); err != nil {
		return nil, fmt.Errorf("%s: %w", gr, err)
	}
	if r.gv.Group == "" || r.gv.Group == rbacv1.GroupName {
		stores[r.plural] = store // read by subresources.go and rbac.go
	}
	out := map[string]rest.Storage{r.plural: store}
	if r.status {
		st := *store
		st.UpdateStrategy = statusStrategy{s}
		out[r.plural+"/status"] = &StatusREST{&st}
	}
	return out, nil
}

// noServices: CRD conversion webhooks would need Service resolution; we serve no webhooks.
type noServices struct{}

func (noServices) ResolveEndpoint(ns, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("service resolution not supported by test-apiserver")
}

func main() {
	etcd := flag.String("etcd", "http://127.0.0.1:2379", "etcd client URL")
	etcdPrefix := flag.String("etcd-prefix", "/registry", "key prefix in etcd (lets several servers share one etcd)")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 6443, "secure port")
	cert := flag.String("tls-cert", "", "serving certificate (PEM)")
	key := flag.String("tls-key", "", "serving key (PEM)")
	flag.Parse()
	if *cert == "" || *key == "" {
		fmt.Println("test-apiserver: --tls-cert and --tls-key are required")
		return
	}

	gvs := groupVersions()
	sro := genericoptions.NewServerRunOptions()
	ro := genericoptions.NewRecommendedOptions(*etcdPrefix, Codecs.LegacyCodec(gvs...))
	ro.Etcd.StorageConfig.Transport.ServerList = []string{*etcd}
	// There is no garbage collector to remove the foregroundDeletion/orphan finalizers the registry would
	// add for propagationPolicy Foreground/Orphan: such deletes would hang forever. Without GC support
	// every delete is immediate (dependents stay, as with any missing controller).
	ro.Etcd.EnableGarbageCollection = false
	ro.SecureServing.BindAddress = net.ParseIP(*bind)
	ro.SecureServing.BindPort = *port
	ro.SecureServing.ServerCert.CertKey.CertFile, ro.SecureServing.ServerCert.CertKey.KeyFile = *cert, *key
	// No authn/authz delegation, no kube-apiserver to ask, no admission chain: this server is alone.
	ro.Authentication, ro.Authorization, ro.CoreAPI, ro.Admission = nil, nil, nil, nil
	ro.Features.EnablePriorityAndFairness = false

	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	utilruntime.Must(sro.ApplyTo(&cfg.Config))
	utilruntime.Must(ro.ApplyTo(cfg))
	// The admin for every request, but a bearer token "user:<name>", which is an RBAC-checked user (rbac.go).
	cfg.Authentication.Authenticator = authenticator.RequestFunc(authenticate)
	cfg.Authorization.Authorizer = rbacAuthorizer{}
	// As kube-apiserver: proxied and log streams are long-running (no 60 s request timeout on an SSE stream).
	cfg.LongRunningFunc = genericfilters.BasicLongRunningRequestCheck(sets.NewString("watch", "proxy"), sets.NewString("attach", "exec", "proxy", "log", "portforward"))
	// services/proxy and pods/log, behind authentication and authorization like every other request.
	cfg.BuildHandlerChainFunc = func(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
		return genericapiserver.DefaultBuildHandlerChain(withSubresources(apiHandler), c)
	}
	// Real OpenAPI definitions: server-side apply and strategic merge patch take list keys from them.
	getDefs := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(oagen.GetOpenAPIDefinitions)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(getDefs, openapinamer.NewDefinitionNamer(Scheme))
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(getDefs, openapinamer.NewDefinitionNamer(Scheme))
	// One aggregated-discovery manager for both servers, so /apis lists built-ins and CRD groups alike
	// (kubectl and client discovery need that).
	cfg.AggregatedDiscoveryGroupManager = discoveryendpoint.NewResourceManager("apis")

	// ---- apiextensions-apiserver (CRDs) as the delegate, sharing serving and auth
	aeGeneric := cfg.Config // shallow copy
	aeGeneric.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	aeGeneric.RESTOptionsGetter = nil
	aeGeneric.Serializer = aeapiserver.Codecs
	etcdOpts := *ro.Etcd
	etcdOpts.StorageConfig.Codec = aeapiserver.Codecs.LegacyCodec(aev1beta1.SchemeGroupVersion, aev1.SchemeGroupVersion)
	etcdOpts.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(aev1beta1.SchemeGroupVersion, schema.GroupKind{Group: aev1beta1.GroupName})
	etcdOpts.SkipHealthEndpoints = true // the main server already registers etcd health checks
	utilruntime.Must(etcdOpts.ApplyTo(&aeGeneric))
	utilruntime.Must(genericoptions.NewAPIEnablementOptions().ApplyTo(&aeGeneric, aeapiserver.DefaultAPIResourceConfigSource(), aeapiserver.Scheme))
	aeGeneric.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(aegenerated.GetOpenAPIDefinitions), openapinamer.NewDefinitionNamer(aeapiserver.Scheme))
	aeGeneric.OpenAPIConfig = nil
	aeCfg := &aeapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: aeGeneric},
		ExtraConfig: aeapiserver.ExtraConfig{
			CRDRESTOptionsGetter: aeoptions.NewCRDRESTOptionsGetter(etcdOpts, aeGeneric.ResourceTransformers, aeGeneric.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, aeGeneric.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}
	aeServer, err := aeCfg.Complete().New(genericapiserver.NewEmptyDelegate())
	utilruntime.Must(err)

	// ---- our built-in types in front
	server, err := cfg.Complete().New("test-apiserver", aeServer.GenericAPIServer)
	utilruntime.Must(err)

	groups := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	for _, r := range resources {
		g, ok := groups[r.gv.Group]
		if !ok {
			info := genericapiserver.NewDefaultAPIGroupInfo(r.gv.Group, Scheme, metav1.ParameterCodec, Codecs)
			g = &info
			groups[r.gv.Group] = g
			order = append(order, r.gv.Group)
		}
		m := g.VersionedResourcesStorageMap[r.gv.Version]
		if m == nil {
			m = map[string]rest.Storage{}
			g.VersionedResourcesStorageMap[r.gv.Version] = m
		}
		st, err := newStorage(cfg.RESTOptionsGetter, r)
		utilruntime.Must(err)
		for k, v := range st {
			m[k] = v
		}
	}
	for _, name := range order {
		if name == "" {
			utilruntime.Must(server.InstallLegacyAPIGroup("/api", groups[name]))
		} else {
			utilruntime.Must(server.InstallAPIGroup(groups[name]))
		}
	}

	utilruntime.Must(server.PrepareRun().RunWithContext(genericapiserver.SetupSignalContext()))
}
