#!/bin/sh
# forumsync — ajoute les réglages de la passerelle à main.cf sans remplacer ceux des autres
# services de la machine (Mailman 3 : relay_domains, transport_maps…) : les listes de tables et
# de domaines sont complétées, les autres réglages ne sont posés que s'ils sont absents.
# Relancer le script ne change rien. docs/deploy.md, section « Postfix ».
#
# Usage : sh forumsync-postconf.sh [dossier de Postfix (/etc/postfix)] [domaine (forumsync.example.org)]
# Les tables forumsync_transport, forumsync_recipients et forumsync_relay_others doivent déjà
# être dans ce dossier.
set -eu
set -f  # table names are not globs

config=${1:-/etc/postfix}
domain=${2:-forumsync.example.org}

pc() { postconf -c "$config" "$@"; }

# The value written in main.cf (empty when the parameter is not set there).
explicit() { pc -nh "$1"; }

# add PARAM ITEM first|last: put ITEM in the list PARAM, before or after the existing entries,
# unless it is already there.
add() {
    param=$1 item=$2 where=$3
    current=$(explicit "$param")
    for word in $(printf '%s\n' "$current" | tr ',' ' '); do
        if [ "$word" = "$item" ]; then
            echo "$param : $item déjà présent"
            return 0
        fi
    done
    if [ -z "$current" ]; then
        new=$item
    elif [ "$where" = first ]; then
        new="$item, $current"
    else
        new="$current, $item"
    fi
    pc -e "$param = $new"
    echo "$param = $new"
}

# default PARAM VALUE: set PARAM only when main.cf does not set it.
default() {
    if [ -n "$(explicit "$1")" ]; then
        echo "$1 : valeur existante gardée ($(explicit "$1"))"
    else
        pc -e "$1 = $2"
        echo "$1 = $2"
    fi
}

for table in forumsync_transport forumsync_recipients forumsync_relay_others; do
    if [ ! -f "$config/$table" ]; then
        echo "forumsync-postconf : $config/$table manque (copiez d'abord les tables de deploy/postfix/)" >&2
        exit 1
    fi
done

# The bridge's subdomain is relayed to forumsync-lmtp.
add relay_domains "$domain" last
# First: the table only answers for the bridge's own addresses, so it cannot take another
# service's mail, and a catch-all entry of an existing table cannot hide it.
add transport_maps "regexp:$config/forumsync_transport" first

# Only the bridge's addresses are accepted in its subdomain. An empty relay_recipient_maps meant
# « accept every address of every relay domain »: forumsync_relay_others keeps that for the
# other domains (Mailman's), which a non-empty list would otherwise reject as unknown.
if [ -z "$(explicit relay_recipient_maps)" ]; then
    add relay_recipient_maps "regexp:$config/forumsync_recipients" last
    add relay_recipient_maps "regexp:$config/forumsync_relay_others" last
else
    add relay_recipient_maps "regexp:$config/forumsync_recipients" last
fi

# forumsync answers within seconds, or 451 when its database is unavailable (Postfix keeps the
# message and retries).
default lmtp_connect_timeout 10s

# A message of MAX_MESSAGE_BYTES (25 MB) must get through; a larger limit (or 0, no limit) stays.
size=$(pc -h message_size_limit)
if [ "$size" != 0 ] && [ "$size" -lt 26214400 ]; then
    pc -e "message_size_limit = 26214400"
    echo "message_size_limit = 26214400"
    size=26214400
else
    echo "message_size_limit : valeur existante gardée ($size)"
fi
# local(8) and virtual(8) stop (« fatal: … is smaller than message_size_limit ») when a mailbox
# limit is below the message limit: every mailbox of the host would stop receiving mail.
for limit in mailbox_size_limit virtual_mailbox_limit; do
    value=$(pc -h "$limit")
    if [ "$size" = 0 ] && [ "$value" != 0 ]; then
        echo "$limit : $value, sous une taille de message illimitée (message_size_limit = 0) : valeur gardée, à vérifier"
    elif [ "$value" != 0 ] && [ "$value" -lt "$size" ]; then
        pc -e "$limit = $size"
        echo "$limit = $size (jamais sous message_size_limit)"
    fi
done
