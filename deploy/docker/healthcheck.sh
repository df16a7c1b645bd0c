#!/bin/sh
# The image's HEALTHCHECK: asks `/health/ready` of the service this container runs.
#
# One image runs any service, chosen by the command (`serve orders`), so the port is not known
# when the image is built. This finds the `microshop` process, reads its command line, and asks
# that service's port: `MICROSHOP_<SERVICE>_PORT` from the container's environment, else the
# standard one. `up` (every service in one process) is checked through the gateway; admin
# commands (`auth rotate-key`) have nothing to check. Ports given as flags (`--orders-port`) are
# not seen: set them with the environment variable in containers.
#
# Exit 0 when the service answers 200, 1 otherwise (Docker's contract); the HEALTHCHECK's
# --timeout bounds how long it may take.

for cmdline in /proc/[0-9]*/cmdline; do
    words=$(tr '\0' '\n' <"$cmdline" 2>/dev/null) || continue
    case "$(printf '%s\n' "$words" | sed -n 1p)" in
        microshop | */microshop) ;;
        *) continue ;;
    esac
    # The subcommand comes first (settings cannot precede it); without one the binary runs `up`.
    case "$(printf '%s\n' "$words" | sed -n 2p)" in
        serve)
            # The service may follow flags (`serve --orders-port 9000 orders`).
            for word in $(printf '%s\n' "$words" | tail -n +3); do
                case "$word" in
                    gateway | auth | users | orders | products | payments | notifier | cars | agenda | hits)
                        service=$word
                        break
                        ;;
                esac
            done
            ;;
        auth) exit 0 ;; # an admin command, not a server
        *) service=gateway ;;
    esac
    break
done
[ -n "${service:-}" ] || exit 1

case "$service" in
    gateway) default=8000 ;;
    auth) default=8001 ;;
    users) default=8002 ;;
    orders) default=8003 ;;
    products) default=8004 ;;
    payments) default=8005 ;;
    notifier) default=8006 ;;
    cars) default=8007 ;;
    agenda) default=8008 ;;
    hits) default=8009 ;;
esac
port=$(printenv "MICROSHOP_$(printf '%s' "$service" | tr 'a-z' 'A-Z')_PORT" || true)
exec wget -q -O /dev/null "http://127.0.0.1:${port:-$default}/health/ready"
