# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by selftests/qemu/run and selftests/qemu/fetch-source: a private apt
# setup per Debian suite group (never the system's), fetching and unpacking
# Debian kernels into the cache, and build chroots for kernels whose compiler
# or kbuild tools do not run on this host.

MIRROR=${PIDWAIT_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${PIDWAIT_SECMIRROR:-http://deb.debian.org/debian-security}
CACHE=${CACHE:-${PIDWAIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pidwait}}
# Package indexes older than this many seconds are refreshed.
APT_MAX_AGE=${APT_MAX_AGE:-21600}
APT_REFRESH=${APT_REFRESH:-0}
VERBOSE=${VERBOSE:-0}
# Bumped when the layout of an unpacked kernel changes, to redo old ones.
KERNEL_PREP_VERSION=2

say() { printf '%s\n' "$*" >&2; }
vsay() { if [[ $VERBOSE -gt 0 ]]; then say "$*"; fi; }
die() { say "error: $*"; exit 1; }

# retry N CMD...: up to N tries, 5 s apart, for network hiccups. A 404 is
# tried again too, which costs 10 s once per superseded package.
retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		[[ $i -lt $n ]] && sleep 5
	done
	return 1
}

# Run a command with its output to a log file; on failure show its tail.
logged() {
	local log=$1
	shift
	if ! "$@" >>"$log" 2>&1; then
		say "failed: $* (log: $log)"
		tail -n 20 "$log" >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Private apt, one directory per suite group under $CACHE/apt.

apt_sources() {
	case $1 in
	bullseye | bookworm | trixie)
		printf 'deb %s %s main\n' "$MIRROR" "$1"
		printf 'deb %s %s-security main\n' "$SECMIRROR" "$1"
		;;
	*-backports | sid | unstable | testing | forky)
		printf 'deb %s %s main\n' "$MIRROR" "$1"
		;;
	*) die "unknown suite group '$1'" ;;
	esac
}

# Sets APT_OPTS for a suite group.
apt_opts() {
	local d=$CACHE/apt/$1
	APT_OPTS=(-o "Dir::Etc::SourceList=$d/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$d/lists"
		-o "Dir::Cache=$d/cache"
		-o "Dir::State::status=$d/status"
		-o Acquire::Languages=none
		-o Acquire::Retries=3)
	case $1 in
	sid | unstable | testing | forky)
		APT_OPTS+=(-o Acquire::Check-Valid-Until=false) ;;
	esac
}

file_age() {
	local now mtime
	now=$(date +%s)
	mtime=$(stat -c %Y "$1" 2>/dev/null || echo 0)
	echo $((now - mtime))
}

# Refresh the index of a suite group when it is missing or old, and keep a
# table "package version depends" in $CACHE/apt/GROUP/index.
apt_refresh() {
	local g=$1 d=$CACHE/apt/$1
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	(
		flock 9
		if [[ -s $d/index && $APT_REFRESH = 0 &&
			$(file_age "$d/index") -lt $APT_MAX_AGE ]]; then
			exit 0
		fi
		apt_sources "$g" >"$d/sources.list"
		: >"$d/status"
		apt_opts "$g"
		if ! apt-get -q "${APT_OPTS[@]}" update >"$d/update.log" 2>&1 ||
			grep -qE '^(W|E): (Failed|Some index)' "$d/update.log"; then
			if [[ -s $d/index ]]; then
				say "warning: could not refresh the $g index, using the old one (see $d/update.log)"
				exit 0
			fi
			cat "$d/update.log" >&2
			die "apt-get update failed for $g"
		fi
		apt-cache "${APT_OPTS[@]}" dumpavail | awk '
			/^Package: /  { p = $2; v = ""; dep = "" }
			/^Version: /  { v = $2 }
			/^Depends: /  { dep = substr($0, 10); gsub(/ /, "", dep) }
			/^$/          { if (p != "") print p, v, (dep == "" ? "-" : dep); p = "" }
			END           { if (p != "") print p, v, (dep == "" ? "-" : dep) }
		' >"$d/index.new"
		mv "$d/index.new" "$d/index"
	) 9>"$d/.lock"
}

# apt_version GROUP PKG: the newest version of PKG in the group's index.
apt_version() {
	awk -v p="$2" '$1 == p { print $2 }' "$CACHE/apt/$1/index" | sort -V | tail -n 1
}

apt_depends() {
	awk -v p="$2" -v v="$3" '$1 == p && $2 == v { print $3; exit }' "$CACHE/apt/$1/index"
}

# fetch_deb GROUP PKG VERSION: the path of PKG_VERSION.deb in $CACHE/debs,
# downloaded through the group's index, or straight from the pool when the
# index no longer lists it (Debian drops superseded kernel ABIs from the
# indexes long before their files leave the pool).
fetch_deb() {
	local g=$1 pkg=$2 ver=$3 out dir url arch
	out=$CACHE/debs/${pkg}_${ver}.deb
	if [[ -s $out ]]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$CACHE/debs"
	dir=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
	if [[ $(awk -v p="$pkg" -v v="$ver" '$1 == p && $2 == v { print "y"; exit }' \
		"$CACHE/apt/$g/index") = y ]]; then
		apt_opts "$g"
		if (cd "$dir" && apt-get -q "${APT_OPTS[@]}" download "$pkg=$ver") >"$dir/log" 2>&1; then
			mv "$dir"/*.deb "$out"
			rm -rf "$dir"
			echo "$out"
			return 0
		fi
		cat "$dir/log" >&2
	fi
	case $pkg in
	linux-headers-*-common* | linux-source-*) arch=all ;;
	*) arch=amd64 ;;
	esac
	for url in "$MIRROR/pool/main/l/linux/${pkg}_${ver}_${arch}.deb" \
		"$SECMIRROR/pool/updates/main/l/linux/${pkg}_${ver}_${arch}.deb"; do
		if retry 2 /usr/lib/apt/apt-helper download-file "$url" "$dir/x.deb" >"$dir/log" 2>&1 &&
			dpkg-deb -f "$dir/x.deb" Package >/dev/null 2>&1; then
			vsay "  $pkg $ver: not in the $g index, taken from the pool"
			mv "$dir/x.deb" "$out"
			rm -rf "$dir"
			echo "$out"
			return 0
		fi
	done
	rm -rf "$dir"
	say "cannot download $pkg $ver"
	return 1
}

# ---------------------------------------------------------------------------
# Resolving matrix entries.

matrix_file() { echo "${MATRIX:-$QEMU_DIR/matrix}"; }

# The default set: debug entries run only when named (--kernels, make
# check-debug), as their suite takes half an hour under TCG.
matrix_names() {
	awk '!/^#/ && NF >= 5 && $5 != "debug" { print $1 }' "$(matrix_file)"
}

matrix_line() {
	awk -v n="$1" '!/^#/ && NF >= 5 && $1 == n' "$(matrix_file)"
}

ver_ge() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1) = "$2" ]]; }

# resolve_entry NAME: prints "group abi flavour imagepkg version" for the
# newest kernel of a matrix entry whose headers can still be fetched.
resolve_entry() {
	local name=$1 line suites series min flavour g
	line=$(matrix_line "$name")
	[[ -n $line ]] || die "no kernel '$name' in $(matrix_file)"
	read -r _ suites series min flavour _ <<<"$line"
	local -a groups cands=()
	IFS=, read -r -a groups <<<"$suites"
	local i=0
	for g in "${groups[@]}"; do
		apt_refresh "$g"
		local pkg ver abi mm
		while read -r pkg ver; do
			abi=${pkg#linux-image-}
			abi=${abi#linux-binary-}
			abi=${abi%-"$flavour"}
			[[ $abi =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9]+)?(\+[a-z0-9]+)?$ ]] || continue
			mm=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$abi")
			# shellcheck disable=SC2053
			[[ $mm == $series ]] || continue
			if [[ $min != - ]] && ! ver_ge "$mm" "$min"; then
				continue
			fi
			cands+=("$abi $i $g $pkg $ver")
		done < <(awk -v f="$flavour" '
			$1 ~ "^linux-(image|binary)-[0-9]" && $1 ~ "-" f "$" { print $1, $2 }
		' "$CACHE/apt/$g/index" | sort -V)
		i=$((i + 1))
	done
	[[ ${#cands[@]} -gt 0 ]] || die "no kernel for '$name' in $suites"
	# Newest ABI first, then the group listed first; linux-binary-* (6.19+)
	# carries the vmlinuz that linux-image-* then only depends on.
	local c best=""
	while read -r c; do
		read -r abi i g pkg ver <<<"$c"
		if [[ $(awk -v p="linux-binary-$abi-$flavour" '$1 == p { print "y"; exit }' \
			"$CACHE/apt/$g/index") = y ]]; then
			pkg=linux-binary-$abi-$flavour
		fi
		# An unpacked kernel needs no download (offline runs, pruned debs).
		if [[ -f $CACHE/kernels/$abi-$flavour/.ready &&
			$(cat "$CACHE/kernels/$abi-$flavour/.ready") = "$KERNEL_PREP_VERSION" ]] ||
			fetch_deb "$g" "linux-headers-$abi-$flavour" "$ver" >/dev/null 2>&1; then
			best="$g $abi $flavour $pkg $ver"
			break
		fi
		vsay "  $name: no headers for $abi-$flavour, trying an older one"
	done < <(printf '%s\n' "${cands[@]}" | sort -t ' ' -k1,1Vr -k2,2n | awk '!seen[$1]++')
	[[ -n $best ]] || die "no kernel for '$name' has fetchable headers"
	echo "$best"
}

# ---------------------------------------------------------------------------
# Unpacking a kernel into $CACHE/kernels/RELEASE.

# The gcc major version a kernel build tree was configured with.
kdir_gcc_major() {
	local kdir=$1 text f
	for f in "$kdir/include/generated/autoconf.h" "$kdir/include/config/auto.conf" "$kdir/.config"; do
		[[ -f $f ]] || continue
		text=$(grep -m1 -E 'CONFIG_CC_VERSION_TEXT' "$f" || true)
		[[ -n $text ]] && break
	done
	if [[ $text =~ \)\ ([0-9]+)\. ]]; then
		echo "${BASH_REMATCH[1]}"
	elif [[ $text =~ gcc-([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo 0
	fi
}

# Point the absolute symlinks of Debian's header packages, and the include
# line (and from 7.x the KBUILD_OUTPUT) of their Makefile, into the private
# prefix ROOT.
fix_prefix() {
	local root=$1 l t
	while IFS= read -r -d '' l; do
		t=$(readlink "$l")
		case $t in
		/usr/* | /lib/*) ln -sfn "$root$t" "$l" ;;
		esac
	done < <(find "$root/usr/src" "$root/usr/lib" -type l -print0 2>/dev/null)
	local mk
	for mk in "$root"/usr/src/linux-headers-*/Makefile; do
		sed -i -E "s@^(include +|[A-Za-z_]+ *[:?]?= *)(/usr/src/)@\\1$root\\2@" "$mk"
	done
}

# prepare_debian_kernel GROUP ABI FLAVOUR IMAGEPKG VERSION: unpack headers,
# common headers, kbuild and vmlinuz; prints the kernel's directory, holding
# "vmlinuz", "kdir" (a file naming the build tree) and "info".
prepare_debian_kernel() {
	local g=$1 abi=$2 flavour=$3 imgpkg=$4 ver=$5
	local krel=$abi-$flavour
	local kd=$CACHE/kernels/$krel
	mkdir -p "$CACHE/kernels"
	(
		flock 9
		if [[ -f $kd/.ready && $(cat "$kd/.ready") = "$KERNEL_PREP_VERSION" ]]; then
			exit 0
		fi
		rm -rf "$kd"
		mkdir -p "$kd/root"
		local hdr dep common="" kbuild="" debs=() d
		hdr=$(fetch_deb "$g" "linux-headers-$krel" "$ver") || exit 1
		debs+=("$hdr")
		while read -r dep; do
			dep=${dep%%|*}
			case $dep in
			linux-headers-*-common*) common=${dep%%(*} ;;
			linux-kbuild-*) kbuild=${dep%%(*} ;;
			esac
		done < <(dpkg-deb -f "$hdr" Depends | tr -d ' ' | tr ',' '\n')
		[[ -n $common && -n $kbuild ]] || die "$krel: headers without common/kbuild dependency"
		debs+=("$(fetch_deb "$g" "$common" "$ver")") || exit 1
		debs+=("$(fetch_deb "$g" "$kbuild" "$ver")") || exit 1
		local img
		img=$(fetch_deb "$g" "$imgpkg" "$ver") || exit 1
		for d in "${debs[@]}"; do
			[[ -s $d ]] || exit 1
			dpkg-deb -x "$d" "$kd/root"
		done
		mkdir -p "$kd/img"
		dpkg-deb --fsys-tarfile "$img" | tar -x -C "$kd/img" --wildcards '*/vmlinuz*'
		local vm
		vm=$(find "$kd/img" -name 'vmlinuz*' -type f | head -n 1)
		[[ -n $vm ]] || die "$krel: no vmlinuz in $img"
		mv "$vm" "$kd/vmlinuz"
		rm -rf "$kd/img"
		fix_prefix "$kd/root"
		echo "$kd/root/usr/src/linux-headers-$krel" >"$kd/kdir"
		{
			echo "release=$krel"
			echo "group=$g"
			echo "gcc=$(kdir_gcc_major "$kd/root/usr/src/linux-headers-$krel")"
			echo "kbuild_depends=$(dpkg-deb -f "$CACHE/debs/${kbuild}_${ver}.deb" Depends | tr -d ' ')"
			echo "packages=$(basename -a "${debs[@]}" "$img" | tr '\n' ' ')"
		} >"$kd/info"
		echo "$KERNEL_PREP_VERSION" >"$kd/.ready"
	) 9>"$CACHE/kernels/.$krel.lock" || return 1
	touch "$kd/.used"
	echo "$kd"
}

# info_get DIR KEY
info_get() { sed -n "s/^$2=//p" "$1/info" | head -n 1; }

# ---------------------------------------------------------------------------
# Build chroots for kernels made with a newer compiler than the host's.

host_gcc_major() { gcc -dumpversion | cut -d. -f1; }

# Which chroot suite builds modules for a kernel of GROUP compiled by gcc-N;
# empty when the host can.
chroot_suite_for() {
	local g=$1 n=$2
	if [[ $n -le $(host_gcc_major) ]]; then
		return 0
	fi
	case $g in
	trixie | trixie-backports) echo trixie ;;
	sid | unstable) echo sid ;;
	*) echo "$g" ;;
	esac
}

# The packages the chroot needs for a kernel: its gcc, make, pahole and the
# libraries its kbuild tools link against.
chroot_packages() {
	local gcc=$1 deps=$2 d
	local out=(make libc6-dev perl python3 "gcc-$gcc")
	for d in $(tr ',' ' ' <<<"$deps"); do
		d=${d%%|*}
		d=${d%%(*}
		d=${d%%:*}
		case $d in
		gcc* | libc6 | linux-*) ;;
		*) out+=("$d") ;;
		esac
	done
	echo "${out[@]}"
}

# ensure_chroot SUITE PACKAGES...: a minbase debootstrap of SUITE in
# $CACHE/chroot/SUITE with PACKAGES installed; prints its path.
ensure_chroot() {
	local suite=$1
	shift
	local dir=$CACHE/chroot/$suite log=$CACHE/chroot/$suite.log
	mkdir -p "$CACHE/chroot"
	(
		flock 9
		if [[ ! -f $dir/.ready ]]; then
			say "creating the $suite build chroot (about a minute, once)"
			rm -rf "$dir.tmp"
			: >"$log"
			local try ok=0
			for try in 1 2; do
				rm -rf "$dir.tmp"
				if logged "$log" unshare --mount --propagation private \
					debootstrap --variant=minbase --include=make,libc6-dev \
					"$suite" "$dir.tmp" "$MIRROR"; then
					ok=1
					break
				fi
				say "debootstrap $suite failed (try $try)"
			done
			if [[ $ok = 0 ]]; then
				rm -rf "$dir.tmp"
				exit 1
			fi
			{
				echo "deb $MIRROR $suite main"
				case $suite in
				trixie)
					echo "deb $SECMIRROR $suite-security main"
					echo "deb $MIRROR $suite-backports main"
					;;
				esac
			} >"$dir.tmp/etc/apt/sources.list"
			echo 'Acquire::Check-Valid-Until "false";' >"$dir.tmp/etc/apt/apt.conf.d/90pidwait"
			rm -rf "$dir"
			mv "$dir.tmp" "$dir"
			touch "$dir/.ready"
		fi
		local missing=() p
		for p in "$@"; do
			# shellcheck disable=SC2016
			if ! chroot "$dir" dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null |
				grep -q 'install ok installed'; then
				missing+=("$p")
			fi
		done
		if [[ ${#missing[@]} -gt 0 ]]; then
			vsay "  installing in the $suite chroot: ${missing[*]}"
			cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
			logged "$log" chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				DEBIAN_FRONTEND=noninteractive apt-get -q update || exit 1
			logged "$log" chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				DEBIAN_FRONTEND=noninteractive apt-get -q -y \
				--no-install-recommends install "${missing[@]}" || exit 1
			chroot "$dir" apt-get clean >/dev/null 2>&1 || true
		fi
	) 9>"$CACHE/chroot/.$suite.lock" || return 1
	echo "$dir"
}

# in_chroot_cmd ROOT "DIRS": the command prefix that runs a command in ROOT
# with each of DIRS (space separated) bind-mounted at its own path, and /proc
# mounted, in a private mount namespace so nothing outlives the command. It
# execs all the way down: the command keeps the prefix's PID, for timeout(1)
# and kill. Into the array IN_CHROOT.
in_chroot_cmd() {
	# shellcheck disable=SC2016
	IN_CHROOT=(unshare --mount --propagation private bash -c '
		set -e
		root=$1; dirs=$2; shift 2
		for d in $dirs; do
			mkdir -p "$root$d"
			mount --bind "$d" "$root$d"
		done
		mount -t proc proc "$root/proc"
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 "$@"
	' in_chroot "$1" "$2")
}

# in_chroot ROOT "DIRS" CMD...: run CMD so.
in_chroot() {
	local IN_CHROOT
	in_chroot_cmd "$1" "$2"
	shift 2
	"${IN_CHROOT[@]}" "$@"
}
