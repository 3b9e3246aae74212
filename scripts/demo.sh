#!/usr/bin/env bash
# Creates a demo merchant with a Shopify integration once, keeps its credentials in a local file
# (ignored by git) and prints how to send it a signed webhook.
set -euo pipefail
recete="$1"
demo_file="$2"

if [[ ! -s "$demo_file" ]]; then
  merchant=$("$recete" merchant create --name "Demo Store" --timezone Europe/Istanbul)
  merchant_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["merchant_id"])' "$merchant")
  shopify=$("$recete" integration create --merchant "$merchant_id" --kind shopify)
  python3 - "$merchant" "$shopify" > "$demo_file" <<'PY'
import json, sys
print(json.dumps({"merchant": json.loads(sys.argv[1]), "shopify": json.loads(sys.argv[2])}, indent=2))
PY
  chmod 600 "$demo_file"
  echo "demo: created a demo merchant; credentials are in $demo_file"
else
  echo "demo: using the demo merchant in $demo_file"
fi

python3 - "$demo_file" <<'PY'
import json, sys
demo = json.load(open(sys.argv[1]))
shop = demo["shopify"]
print(f"""demo: send a signed Shopify order once the fleet is up:
  body='{{"id": 1001, "name": "#1001", "updated_at": "2026-11-20T10:00:00Z", "line_items": []}}'
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac '{shop["secret"]}' -binary | base64)
  curl -s -X POST {shop["webhook_url"]} -H "X-Shopify-Topic: orders/create" \\
       -H "X-Shopify-Webhook-Id: demo-$RANDOM" -H "X-Shopify-Hmac-Sha256: $sig" -d "$body"
""")
PY
