# bash completion for scfgate(1): commands, sub-commands, options, queue
# names, spool directories and record names.  Record names come from the
# spool root given on the line (--root DIR, or the <root> of --config FILE),
# else from the default configuration scfgate would read: the one of
# ${SCFGATE_CONFIG_DIR:-/etc/scfgate}/scf.xml and oms.xml that exists.
# Installed as /usr/share/bash-completion/completions/scfgate.

_scfgate_root()
{
	local i cfg=
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--root) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
		--config) cfg=${COMP_WORDS[i + 1]} ;;
		esac
	done
	if [ -z "$cfg" ]; then
		local d=${SCFGATE_CONFIG_DIR:-/etc/scfgate}
		if [ -r "$d/scf.xml" ] && [ ! -e "$d/oms.xml" ]; then cfg=$d/scf.xml; fi
		if [ -r "$d/oms.xml" ] && [ ! -e "$d/scf.xml" ]; then cfg=$d/oms.xml; fi
	fi
	[ -n "$cfg" ] && [ -r "$cfg" ] &&
		sed -n 's|.*<root>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</root>.*|\1|p' "$cfg" | head -n 1
}

# _scfgate_records DIR...: record names in those sub-directories of the
# queue on the line (--queue Q), or of both queues.
_scfgate_records()
{
	local root q i queues=(outbound inbound) d f
	root=$(_scfgate_root)
	[ -n "$root" ] || return
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[ "${COMP_WORDS[i]}" = --queue ] && queues=("${COMP_WORDS[i + 1]}")
	done
	for q in "${queues[@]}"; do
		for d in "$@"; do
			for f in "$root/$q/$d"/*.xml; do
				[ -e "$f" ] && printf '%s\n' "${f##*/}"
			done
		done
	done
}

_scfgate()
{
	local cur prev cmd sub opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=${COMP_WORDS[1]:-}
	sub=${COMP_WORDS[2]:-}
	COMPREPLY=()

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W 'scf oms status find spool bundle config keygen preview transfer reconcile report --help --version' -- "$cur"))
		return
	fi

	# Option arguments.
	case $prev in
	--config | -c)
		compopt -o filenames 2>/dev/null
		if [ "$cmd" = config ]; then COMPREPLY=($(compgen -f -- "$cur")); else
			COMPREPLY=($(compgen -f -X '!*.xml' -- "$cur") $(compgen -d -- "$cur")); fi
		return ;;
	--queue) COMPREPLY=($(compgen -W 'outbound inbound' -- "$cur")); return ;;
	--half) COMPREPLY=($(compgen -W 'scf oms' -- "$cur")); return ;;
	--class) COMPREPLY=($(compgen -W 'missing missed-close orphan drift duplicate missing,missed-close' -- "$cur")); return ;;
	--census) return ;;
	--dir)
		if [ "$cmd" = spool ]; then
			COMPREPLY=($(compgen -W 'new cur done failed hold dismissed all' -- "$cur"))
		else
			compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))
		fi
		return ;;
	--root | --to)
		if [ "$prev" = --to ] && [ "$sub" != archive ]; then return; fi
		compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--key | --pubkey | --record-pubkey | --out | --encrypt-to | --decrypt-key | --html)
		compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--json)
		# a flag everywhere but in report, where it names the output file
		if [ "$cmd" = report ]; then
			compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return
		fi ;;
	--producer | --from | --through | --older-than | --signer | --name | --concurrency | \
		--window | --retry-ms | --http-timeout-ms | --request-type | --issue | --since | --window-days | \
		--oid | --request-id | --gap-alarm | --reason | --max-entry-bytes | --max-entries | --max-total-bytes)
		return ;;
	esac

	case $cmd in
	scf)
		if [ "$COMP_CWORD" -eq 2 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W 'resync census' -- "$cur")); return
		fi
		if [ "$sub" = resync ]; then
			opts='--config --request-type --issue --since --acknowledged --json --log-json --help'
		elif [ "$sub" = census ]; then
			opts='--config --window-days --json --log-json --help'
		else
			opts='--config --once --json --log-json --help'
		fi ;;
	oms) opts='--config --once --json --log-json --concurrency --window --retry-ms --http-timeout-ms --help' ;;
	status) opts='--config --json --help' ;;
	find) opts='--config --root --json --help' ;;
	keygen) opts='--dir --name --x25519 --json --help' ;;
	transfer) opts='--config --once --log-json --help' ;;
	reconcile) opts='--config --census --json --repair --class --dry-run --help' ;;
	report) opts='--config --html --json --issue --help' ;;
	preview)
		opts='--config --json --oid --request-id --help'
		if [[ $cur != -* ]]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -X '!*.@(json|xml)' -- "$cur") $(compgen -d -- "$cur")); return
		fi ;;
	config)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W 'check example import-csv --help' -- "$cur")); return
		fi
		case $sub in
		check) opts='--config --json --online' ;;
		example) opts='--half' ;;
		*) opts= ;;
		esac
		if [[ $cur != -* ]] && [ "$sub" != example ]; then
			compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return
		fi ;;
	spool)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W 'ls show verify stat hold release retry dismiss skip replay archive init --help' -- "$cur"))
			return
		fi
		opts='--config --root --queue --help'
		case $sub in
		ls) opts+=' --dir --json' ;;
		show) opts+=' --pubkey --json' ;;
		verify) opts+=' --pubkey --dir' ;;
		stat) opts+=' --json --gap-alarm' ;;
		retry) opts+=' --all --now' ;;
		dismiss) opts+=' --reason' ;;
		skip) opts+=' --producer --through --gap' ;;
		replay) opts+=' --from --to' ;;
		archive) opts+=' --older-than --to --key --producer' ;;
		init) opts='--config --help' ;;
		esac
		if [[ $cur != -* ]]; then
			case $sub in
			show) COMPREPLY=($(compgen -W "$(_scfgate_records new cur done failed hold dismissed)" -- "$cur")); return ;;
			hold) COMPREPLY=($(compgen -W "$(_scfgate_records new)" -- "$cur")); return ;;
			release) COMPREPLY=($(compgen -W "$(_scfgate_records hold)" -- "$cur")); return ;;
			retry | dismiss) COMPREPLY=($(compgen -W "$(_scfgate_records failed)" -- "$cur")); return ;;
			skip | replay) COMPREPLY=($(compgen -W "$(_scfgate_records done new)" -- "$cur")); return ;;
			verify) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
			esac
		fi ;;
	bundle)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W 'export verify list import ack prune --help' -- "$cur")); return
		fi
		case $sub in
		export) opts='--config --root --queue --key --from --to --done --signer --record-pubkey --encrypt-to --out' ;;
		verify) opts='--config --pubkey --record-pubkey --decrypt-key --json' ;;
		list) opts='--config --pubkey --decrypt-key --json' ;;
		import) opts='--config --root --queue --pubkey --record-pubkey --decrypt-key --max-entry-bytes --max-entries --max-total-bytes' ;;
		ack) opts='--config --root --queue --key --signer --out' ;;
		prune) opts='--config --root --queue --pubkey' ;;
		esac
		if [[ $cur != -* ]]; then
			compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return
		fi ;;
	*) return ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _scfgate scfgate
