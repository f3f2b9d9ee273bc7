// The two connect subresources a client reaches through the API server rather than from inside the cluster, resolved
// the way kube-apiserver resolves them, over objects the test harness registers (there is no kubelet or
// endpoints controller here):
//
//   - services/proxy: /api/v1/namespaces/{ns}/services/[{scheme}:]{name}[:{port}]/proxy/{path} → the Service's port
//     (by name or number) → the Endpoints object of the same name, the subset port with that port's name → the first
//     ready address; the request (method, headers, body, query) is forwarded there and the answer streamed back
//     (text/event-stream and chunked answers unbuffered).
//   - pods/log: /api/v1/namespaces/{ns}/pods/{name}/log → spec.nodeName → the Node's address and
//     status.daemonEndpoints.kubeletEndpoint.Port → https://{addr}:{port}/containerLogs/{ns}/{pod}/{container}
//     (kube-apiserver does not verify the kubelet's serving certificate unless told a CA; neither do we).
//
// Both run inside the handler chain, after authentication and authorization, which (as in kube-apiserver) strips the
// caller's Authorization header before anything is forwarded.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
)

// stores by plural, filled by newStorage: the subresources read Services, Endpoints, Pods and Nodes from them.
var stores = map[string]*genericregistry.Store{}

var (
	serviceProxyPath = regexp.MustCompile(`^/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)?$`)
	podLogPath       = regexp.MustCompile(`^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$`)
)

// withSubresources serves services/proxy and pods/log in front of the REST handlers.
func withSubresources(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if m := serviceProxyPath.FindStringSubmatch(req.URL.Path); m != nil {
			serviceProxy(w, req, m[1], m[2], m[3])
			return
		}
		if m := podLogPath.FindStringSubmatch(req.URL.Path); m != nil && req.Method == http.MethodGet {
			podLog(w, req, m[1], m[2])
			return
		}
		next.ServeHTTP(w, req)
	})
}

func get(ctx context.Context, plural, ns, name string) (runtime.Object, error) {
	if ns != "" {
		ctx = genericapirequest.WithNamespace(ctx, ns)
	}
	return stores[plural].Get(ctx, name, &metav1.GetOptions{})
}

// writeStatus answers with a metav1.Status, as the real server does for these errors.
func writeStatus(w http.ResponseWriter, err error) {
	status := apierrors.APIStatus(nil)
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
	} else {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}

type responder struct{}

func (responder) Error(w http.ResponseWriter, req *http.Request, err error) {
	writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach service: %v", err)))
}

func serviceProxy(w http.ResponseWriter, req *http.Request, ns, id, rest string) {
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id)))
		return
	}
	location, err := resolveService(req.Context(), ns, scheme, name, port)
	if err != nil {
		writeStatus(w, err)
		return
	}
	location.Path = rest
	if location.Path == "" {
		location.Path = "/"
	}
	location.RawQuery = req.URL.RawQuery
	h := proxy.NewUpgradeAwareHandler(location, http.DefaultTransport, false, false, responder{})
	h.UseLocationHost = true
	h.ServeHTTP(w, req)
}

// resolveService: the Service's port named or numbered `port` (the only port when empty), then the ready address
// of its Endpoints for the port of the same name.
func resolveService(ctx context.Context, ns, scheme, name, port string) (*url.URL, error) {
	obj, err := get(ctx, "services", ns, name)
	if err != nil {
		return nil, err
	}
	svc := obj.(*corev1.Service)
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if port == "" && len(svc.Spec.Ports) == 1 || p.Name == port || strconv.Itoa(int(p.Port)) == port {
			svcPort = p
			break
		}
	}
	if svcPort == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %q found for service %q", port, name))
	}
	eobj, err := get(ctx, "endpoints", ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
		}
		return nil, err
	}
	for _, ss := range eobj.(*corev1.Endpoints).Subsets {
		for _, p := range ss.Ports {
			if p.Name != svcPort.Name || len(ss.Addresses) == 0 {
				continue
			}
			if scheme == "" {
				scheme = "http"
			}
			return &url.URL{Scheme: scheme, Host: net.JoinHostPort(ss.Addresses[0].IP, strconv.Itoa(int(p.Port)))}, nil
		}
	}
	return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
}

var kubeletTransport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // as kube-apiserver without --kubelet-certificate-authority

func podLog(w http.ResponseWriter, req *http.Request, ns, name string) {
	obj, err := get(req.Context(), "pods", ns, name)
	if err != nil {
		writeStatus(w, err)
		return
	}
	pod := obj.(*corev1.Pod)
	q := req.URL.Query()
	container := q.Get("container")
	if container == "" {
		if len(pod.Spec.Containers) != 1 {
			names := []string{}
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", name, strings.Join(names, " "))))
			return
		}
		container = pod.Spec.Containers[0].Name
	}
	known := false
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		known = known || c.Name == container
	}
	if !known {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, name)))
		return
	}
	if pod.Spec.NodeName == "" {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name)))
		return
	}
	nobj, err := get(req.Context(), "nodes", "", pod.Spec.NodeName)
	if err != nil {
		writeStatus(w, err)
		return
	}
	node := nobj.(*corev1.Node)
	addr := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if addr == "" && a.Type == t {
				addr = a.Address
			}
		}
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if addr == "" || port == 0 {
		writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no address or kubelet port", node.Name)))
		return
	}
	q.Del("container")
	location := &url.URL{
		Scheme:   "https",
		Host:     net.JoinHostPort(addr, strconv.Itoa(int(port))),
		Path:     fmt.Sprintf("/containerLogs/%s/%s/%s", ns, name, container),
		RawQuery: q.Encode(),
	}
	h := proxy.NewUpgradeAwareHandler(location, kubeletTransport, false, false, responder{})
	h.UseLocationHost = true
	h.ServeHTTP(w, req)
}
