// Package netns builds networks out of Linux network namespaces for tests
// that must send multicast (mDNS), use real addresses or cross NATs without
// touching the machine's own network:
//
//   - LAN (New): a bridge namespace and one namespace per node, each with an
//     eth0 veth into the bridge at 10.99.0.<i>/24, lo up and multicast on;
//   - Internet (NewInternet): a core router namespace, public hosts on
//     addresses from PublicRange, and home routers doing NAT of each kind
//     (NATKind) for hosts on 192.168.<n>.0/24;
//   - Capture: every packet in a set of namespaces, checked against the
//     ranges the test allows.
//
// Namespaces are named <prefix><pid>-…, so leftovers of a killed run can be
// recognised and removed by the next.
package netns
