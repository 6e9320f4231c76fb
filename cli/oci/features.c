/*
 * features: what this runtime supports, as runtime-spec's features.md
 * document. A container is a VM: no hooks, no namespaces of the host's
 * but the network one it enters, no cgroup or seccomp applied to the
 * guest's process.
 */
#include <stdio.h>

#include "runtime.h"

int oci_cmd_features(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return oci_fail("features: takes no arguments");
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"%s\",\n"
	       "  \"hooks\": [],\n"
	       "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\", "
	       "\"nosuid\", \"nodev\", \"noexec\", \"suid\", \"dev\", "
	       "\"exec\", \"size\", \"mode\", \"uid\", \"gid\", "
	       "\"nr_inodes\"],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [\"network\"],\n"
	       "    \"capabilities\": [],\n"
	       "    \"cgroup\": {\"v1\": false, \"v2\": false, \"systemd\": "
	       "false, \"systemdUser\": false},\n"
	       "    \"seccomp\": {\"enabled\": false},\n"
	       "    \"apparmor\": {\"enabled\": false},\n"
	       "    \"selinux\": {\"enabled\": false}\n"
	       "  },\n"
	       "  \"annotations\": {\n"
	       "    \"io.supermachine.vm\": \"true\",\n"
	       "    \"io.supermachine.version\": \"%s\"\n"
	       "  }\n"
	       "}\n",
	       OCI_SPEC_VERSION, sm_version());
	return 0;
}
