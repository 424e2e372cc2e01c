# Bedrock WebSocket chat. `make` lists the targets.
# Nothing here calls AWS at parse time: test, lint and local need no credentials.

STACK     ?= bedrock-ws-chat
IAM_STACK ?= $(STACK)-iam
STAGE     ?= dev
REGION    ?= ap-northeast-1
MODEL_ID  ?= jp.anthropic.claude-haiku-4-5-20251001-v1:0
# Models (main.yml's parameters; docs/models.md): the API (invoke|converse), up to 3 more models a message may
# choose, prompt caching (on|off), and an optional guardrail every model call must carry.
MODEL_API ?= invoke
MODEL_IDS ?=
PROMPT_CACHING ?= on
GUARDRAIL_ID ?=
GUARDRAIL_VERSION ?= DRAFT
BUCKET    ?=
PORT      ?= 8080
BEDROCK   ?= local
CLIENTS   ?= 200
LOAD_PEOPLE   ?= 40
LOAD_MESSAGES ?= 3
MUTATE_JOBS ?= 2
# Sign-in at $connect: none, cognito or oidc (+ OIDC_ISSUER, OIDC_AUDIENCE). Unset: a deploy keeps the stack's
# current setting (none on the first deploy); make local serves none.
AUTH      ?=
OIDC_ISSUER   ?=
OIDC_AUDIENCE ?=
# Input-token equivalents per signed-in user per UTC day (everyone together when sign-in is off); 0: unlimited.
# Unset: the stack keeps its value (the default on a first deploy; docs/security.md). Likewise replies in flight
# per signed-in user and replies streaming at once.
DAILY_TOKEN_BUDGET ?=
MAX_REPLIES_IN_FLIGHT ?=
REPLY_CONCURRENCY ?=
URL       ?=
# Conversations (main.yml's parameters of the same names; README "Configuration").
MAX_TOKENS         ?= 1024
SYSTEM_PROMPT      ?=
HISTORY_MAX_TOKENS ?= 20000
HISTORY_TTL_DAYS   ?= 30
# Least ms between two frames of one reply (main.yml's FrameIntervalMs; docs/capacity.md); 0: a frame per delta.
FRAME_INTERVAL_MS  ?= 125
# Seconds a reply goes on for a client that dropped, waiting for its `resume` (main.yml's ResumeGraceSeconds); 0: none.
RESUME_GRACE_SECONDS ?= 30
ALARM_EMAIL ?=

, := ,
VENV   := .venv
PY     := $(VENV)/bin/python
# checkov lives in its own venv: it pins an older boto3 than requirements-dev.txt (see requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
# Lambda's python3.13 (requirements-lambda.txt) when the machine has a python3.13 (pyenv's, or one on PATH; a pyenv
# shim that is not active does not count): make local and the e2e tests run the functions on it, make test runs
# tests/unit on it too. Without one the emulator runs them on this Python, and says so.
PYTHON313 := $(firstword $(foreach p,$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13,\
	$(shell $(p) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && command -v $(p))))
LAMBDA_VENV := .venv-lambda
LAMBDA_PY   := $(if $(PYTHON313),$(LAMBDA_VENV)/bin/python)
INTERPRETERS = $(if $(LAMBDA_PY),--interpreter python3.13=$(LAMBDA_PY))
# npm ci's stamp: node_modules holds wscat, the JS SDK (tests) and dynalite (make local's DynamoDB).
NODE_TOOLS := node_modules/.package-lock.json
# The pinned CLI from the venv when there is one, else whatever `aws` (v1 or v2) is on PATH.
AWS    ?= $(if $(wildcard $(VENV)/bin/aws),$(VENV)/bin/aws,aws)
# AWS CLI v2 pipes output through a pager and can be configured to prompt for parameters: either would stop a
# recipe at the terminal. v1 reads neither.
export AWS_PAGER :=
export AWS_CLI_AUTO_PROMPT := off
PACKAGED := build/main.packaged.yml
# Passed on every deploy, so a value left off the make line returns to its default rather than keeping the last
# deploy's. SystemPrompt is quoted where it is used: it may hold spaces.
CONVERSATION_PARAMETERS = MaxTokens=$(MAX_TOKENS) HistoryMaxTokens=$(HISTORY_MAX_TOKENS) HistoryTtlDays=$(HISTORY_TTL_DAYS)
REPLY_PARAMETERS = FrameIntervalMs=$(FRAME_INTERVAL_MS) ResumeGraceSeconds=$(RESUME_GRACE_SECONDS)
# The same on every deploy and make local; ModelIds, GuardrailId and GuardrailVersion go to both stacks (IAM grants).
GRANT_PARAMETERS = ModelIds=$(MODEL_IDS) GuardrailId=$(GUARDRAIL_ID) GuardrailVersion=$(GUARDRAIL_VERSION)
MODEL_PARAMETERS = ModelId=$(MODEL_ID) ModelApi=$(MODEL_API) PromptCaching=$(PROMPT_CACHING) $(GRANT_PARAMETERS)

.DEFAULT_GOAL := help
.PHONY: help setup test slow lint local web web-config vendor load load-streams bench capacity mutate rehearse package deploy deploy-iam \
	deploy-main \
	outputs logs dashboard delete clean user token

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: STACK=$(STACK) STAGE=$(STAGE) REGION=$(REGION) MODEL_ID=$(MODEL_ID) BUCKET=$(BUCKET) PORT=$(PORT)"
	@echo "           MODEL_API=$(MODEL_API) (invoke|converse) MODEL_IDS=$(MODEL_IDS) PROMPT_CACHING=$(PROMPT_CACHING) GUARDRAIL_ID=$(GUARDRAIL_ID)"
	@echo "           AUTH=$(AUTH) (none|cognito|oidc) OIDC_ISSUER=$(OIDC_ISSUER) OIDC_AUDIENCE=$(OIDC_AUDIENCE)"

$(PY): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@touch $@

$(CHECKOV): requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	@touch $@

$(LAMBDA_VENV)/bin/python: requirements-lambda.txt
	$(PYTHON313) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --upgrade pip
	$(LAMBDA_VENV)/bin/pip install --quiet -r requirements-lambda.txt
	@touch $@

$(NODE_TOOLS): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

setup: $(PY) $(CHECKOV) $(NODE_TOOLS) $(LAMBDA_PY) ## Create the venv and install the pinned tools (other targets do this themselves)

lint: $(PY) $(CHECKOV) ## cfn-lint and checkov both templates, ruff the Python
	$(VENV)/bin/cfn-lint iam.yml main.yml
	@# Fails on any finding neither fixed nor skipped in the template (Metadata: checkov: skip, with the reason).
	@# checkov leaves out a resource whose Condition is false for the default parameters (e.g. the authorizer
	@# when Auth=none), so it scans copies without the resources' Condition lines: every resource, every setting.
	@# --skip-download and the variable keep it offline: no guideline download, no version check.
	@mkdir -p build/checkov
	@for t in main.yml iam.yml; do sed '/^    Condition: [A-Za-z0-9]*$$/d' $$t > build/checkov/$$t; done
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) -f build/checkov/main.yml -f build/checkov/iam.yml \
	  --framework cloudformation --quiet --compact --skip-download
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint $(NODE_TOOLS) $(LAMBDA_PY) ## Lint, then every test: unit, templates, end-to-end, deploy rehearsal (+ unit on python3.13)
	$(PY) -m pytest
	$(if $(LAMBDA_PY),$(LAMBDA_PY) -m pytest tests/unit -q,@echo "WARNING: no python3.13 here: tests/unit ran on $$($(PY) -V) only")

slow: $(PY) $(NODE_TOOLS) ## The slow tests `make test` leaves out (each has a fast equivalent there), e.g. a 45 s reply
	$(PY) -m pytest -m slow

rehearse: $(PY) ## Run deploy, redeploy, outputs and delete with the real AWS CLI against a simulated account (moto)
	$(PY) -m pytest tests/deploy

local: $(PY) $(NODE_TOOLS) $(LAMBDA_PY) ## Serve main.yml + src/ on ws://127.0.0.1:PORT/STAGE and the chat page at http://127.0.0.1:PORT/ (BEDROCK=aws: real Bedrock)
	@echo 'Once it is up, send e.g. {"action": "sendtext", "text": "Hello, AI! What you can do?"}'
	@echo '(AUTH=cognito: make user USERNAME=... PASSWORD=... PORT=$(PORT), then make token, and wscat ... -s bedrock-ws-chat -s <token>)'
	$(PY) -m emulator --port $(PORT) --stage $(STAGE) --bedrock $(BEDROCK) --web-dir web $(INTERPRETERS) \
	  $(if $(GUARDRAIL_ID),--standin-guardrail $(GUARDRAIL_ID):$(GUARDRAIL_VERSION)) \
	  $(foreach p,$(AUTH_PARAMETERS) $(MODEL_PARAMETERS),--parameter $(p)) \
	  $(CONVERSATION_PARAMETERS:%=--parameter %) $(REPLY_PARAMETERS:%=--parameter %) \
	  --parameter "SystemPrompt=$(SYSTEM_PROMPT)"

web-config: $(PY) ## Write build/web/: the page with config.json (STACK's URL and sign-in, or URL=wss://… [AUTH=…]), its CSP and _headers
	@url="$(URL)"; auth="$(AUTH)"; client=""; models=""; \
	if [ -z "$$url" ]; then \
	  url=$$($(call STACK_OUTPUT,WebSocketUrl)) || exit 1; \
	  auth=$$($(call STACK_OUTPUT,Auth)) || exit 1; \
	  client=$$($(call STACK_OUTPUT,UserPoolClientId)) || exit 1; \
	  models=$$($(call STACK_OUTPUT,Models)) || exit 1; \
	fi; \
	case "$$auth" in ""|None) auth=none;; esac; \
	$(PY) -m emulator.page.policy --web-dir web --out build/web --url "$$url" --auth "$$auth" \
	  --client-id "$$client" --models "$$models" --region $(REGION)

web: web-config ## Serve build/web/ on http://127.0.0.1:PORT/ (make web-config's copy of the page)
	@echo "Chat page: http://127.0.0.1:$(PORT)/"
	python3 -m http.server --bind 127.0.0.1 --directory build/web $(PORT)

# The page's syntax highlighter, from the pinned prismjs: its core and these languages (dependencies first), joined
# into one file because web/ is served as a flat folder. tests/templates/test_vendored.py checks web/prism.js is
# byte for byte these files, so it cannot drift from package.json's pin.
PRISM_LANGUAGES := markup css clike javascript typescript python bash json yaml sql java c cpp go rust diff docker
vendor: $(NODE_TOOLS) ## Rebuild web/prism.js (+ its licence) from the pinned prismjs in node_modules; commit the result
	@version=$$(node -p 'require("./node_modules/prismjs/package.json").version'); \
	{ echo "/* prismjs $$version, MIT licence (prism.js.LICENSE): core $(PRISM_LANGUAGES). Built by make vendor. */"; \
	  for name in core $(PRISM_LANGUAGES); do cat node_modules/prismjs/components/prism-$$name.min.js; echo; done; \
	} > web/prism.js
	cp node_modules/prismjs/LICENSE web/prism.js.LICENSE

load: $(PY) $(NODE_TOOLS) ## LOAD_PEOPLE (40) people chatting with think time through the emulator: replies intact, posts/s per reply, latency percentiles
	$(PY) -m bench.chatters --people $(LOAD_PEOPLE) --messages $(LOAD_MESSAGES)

load-streams: $(PY) $(NODE_TOOLS) ## CLIENTS (200) concurrent SendText streams through the emulator: intact? wall time, peak memory
	$(PY) -m bench.load --clients $(CLIENTS)

bench: $(PY) $(NODE_TOOLS) ## First frame, frame pacing, relay vs the article's loop, a conversation turn, the conversation list, prompt caching, the authorizer, the page's render per delta, resuming a reply (SECTION=first-frame|pacing|relay|conversations|list|caching|authorizer|render|resume: one); writes docs/performance.md
	$(if $(filter first-frame pacing relay all,$(or $(SECTION),all)),$(PY) -m bench $(if $(FULL),--full,) $(if $(filter-out all,$(or $(SECTION),all)),--section $(SECTION)))
	$(if $(filter conversations all,$(or $(SECTION),all)),$(PY) -m bench.conversations)
	$(if $(filter list all,$(or $(SECTION),all)),$(PY) -m bench.listing)
	$(if $(filter caching all,$(or $(SECTION),all)),$(PY) -m bench.caching)
	$(if $(filter authorizer all,$(or $(SECTION),all)),$(PY) -m bench.authorizer)
	$(if $(filter render all,$(or $(SECTION),all)),$(PY) -m bench.render)
	$(if $(filter resume all,$(or $(SECTION),all)),$(PY) -m bench.resume)
	$(PY) -m bench.report

# The model's own defaults stand for the figures left off the make line (python -m bench.capacity --help).
CAPACITY_FIGURES = PEOPLE MESSAGES_PER_MIN REPLY_TOKENS INPUT_TOKENS TOKENS_PER_S POST_MS BEDROCK_RPM BEDROCK_TPM
capacity: $(PY) ## Which AWS quota binds first as people chat (PEOPLE, MESSAGES_PER_MIN, REPLY_TOKENS, TOKENS_PER_S, POST_MS, FRAME_INTERVAL_MS, MAX_TOKENS, BEDROCK_RPM, BEDROCK_TPM)
	$(PY) -m bench.capacity --frame-interval-ms $(FRAME_INTERVAL_MS) --max-tokens $(MAX_TOKENS) \
	  $(if $(REPLY_CONCURRENCY),--reply-concurrency $(REPLY_CONCURRENCY)) \
	  $(foreach v,$(CAPACITY_FIGURES),$(if $($(v)),--$(subst _,-,$(shell echo $(v) | tr A-Z a-z)) $($(v))))

AUTH_PARAMETERS = $(if $(AUTH),Auth=$(AUTH)) $(if $(OIDC_ISSUER),OidcIssuer=$(OIDC_ISSUER)) \
	$(if $(OIDC_AUDIENCE),OidcAudience=$(OIDC_AUDIENCE)) $(if $(DAILY_TOKEN_BUDGET),DailyTokenBudget=$(DAILY_TOKEN_BUDGET)) \
	$(if $(MAX_REPLIES_IN_FLIGHT),MaxRepliesInFlight=$(MAX_REPLIES_IN_FLIGHT)) \
	$(if $(REPLY_CONCURRENCY),ReplyConcurrency=$(REPLY_CONCURRENCY))

mutate: $(PY) ## Mutation testing of src/ against tests/unit (mutmut; slow, not in CI): the score, then survivors
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
	$(VENV)/bin/mutmut export-cicd-stats >/dev/null
	@$(PY) -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); c = s["killed"] + s["timeout"]; \
	  print("%d of %d mutants caught (%.1f%%): %d killed, %d timed out, %d survived, %d not covered by a unit test" \
	        % (c, s["total"], 100 * c / s["total"], s["killed"], s["timeout"], s["survived"], s["no_tests"]))'
	@echo "Survivors: $(VENV)/bin/mutmut results; one of them: $(VENV)/bin/mutmut show <name>"

# The artifact bucket: BUCKET if given, else one per account and region, created (private) when missing.
RESOLVE_BUCKET = bucket="$(BUCKET)"; \
	if [ -z "$$bucket" ]; then \
	  account=$$($(AWS) sts get-caller-identity --region $(REGION) --query Account --output text) || exit 1; \
	  bucket=$$(echo "$(STACK)-artifacts-$$account-$(REGION)" | tr 'A-Z' 'a-z'); \
	fi

package: ## Zip src/ to the artifact bucket and write build/main.packaged.yml
	@mkdir -p build
	@find src -name __pycache__ -prune -exec rm -rf {} +
	@$(RESOLVE_BUCKET); \
	if ! $(AWS) s3api head-bucket --bucket "$$bucket" --region $(REGION) >/dev/null 2>&1; then \
	  echo "Creating artifact bucket $$bucket"; \
	  if [ "$(REGION)" = us-east-1 ]; then \
	    $(AWS) s3api create-bucket --bucket "$$bucket" --region $(REGION) >/dev/null; \
	  else \
	    $(AWS) s3api create-bucket --bucket "$$bucket" --region $(REGION) \
	      --create-bucket-configuration LocationConstraint=$(REGION) >/dev/null; \
	  fi || exit 1; \
	  $(AWS) s3api put-public-access-block --bucket "$$bucket" --region $(REGION) \
	    --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true; \
	fi; \
	$(AWS) cloudformation package --region $(REGION) --template-file main.yml \
	  --s3-bucket "$$bucket" --s3-prefix $(STACK) --output-template-file $(PACKAGED)

deploy: deploy-iam deploy-main ## Deploy the IAM stack, then the main stack; print the wss:// URL

deploy-iam: ## Deploy iam.yml as IAM_STACK (default STACK-iam)
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(IAM_STACK) --template-file iam.yml \
	  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides AppStackName=$(STACK) ModelId=$(MODEL_ID) $(GRANT_PARAMETERS)

# The template is over CloudFormation's 51,200-byte limit for an inline template body, so deploy uploads it to
# the artifact bucket too (--s3-bucket) and CloudFormation reads it from there.
deploy-main: package ## Deploy the packaged main.yml as STACK
	@$(RESOLVE_BUCKET); \
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(STACK) --template-file $(PACKAGED) \
	  --s3-bucket "$$bucket" --s3-prefix $(STACK) --no-fail-on-empty-changeset \
	  --parameter-overrides IamStackName=$(IAM_STACK) StageName=$(STAGE) $(MODEL_PARAMETERS) $(AUTH_PARAMETERS) \
	  $(CONVERSATION_PARAMETERS) $(REPLY_PARAMETERS) "SystemPrompt=$(SYSTEM_PROMPT)" \
	  $(if $(ALARM_EMAIL),AlarmEmail=$(ALARM_EMAIL))
	@url=$$($(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	  --query "Stacks[0].Outputs[?OutputKey=='WebSocketUrl'].OutputValue" --output text); \
	echo; echo "WebSocket URL: $$url"; \
	echo "Try it:  npx wscat -c $$url"; \
	echo '         > {"action": "sendtext", "text": "Hello, AI! What you can do?"}'

# make user / make token act on the emulator serving on PORT when there is one (make local AUTH=cognito), else
# on the deployed STACK. They set pool, client, url, where, and aws (the CLI pointed at that pool's Cognito).
STACK_OUTPUT = $(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	--query "Stacks[0].Outputs[?OutputKey=='$(1)'].OutputValue" --output text
RESOLVE_POOL = \
	if found=$$($(PY) -m emulator.outputs --port $(PORT)); then \
	  eval "$$found"; pool="$$Output_UserPoolId"; client="$$Output_UserPoolClientId"; \
	  where="the emulator on port $(PORT)"; \
	  aws="env AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_CONFIG_FILE=/dev/null \
	    AWS_SHARED_CREDENTIALS_FILE=/dev/null $(AWS) --region $$region --endpoint-url $$AWS_ENDPOINT_URL_COGNITO_IDP"; \
	else \
	  pool=$$($(call STACK_OUTPUT,UserPoolId)) || exit 1; \
	  client=$$($(call STACK_OUTPUT,UserPoolClientId)); url=$$($(call STACK_OUTPUT,WebSocketUrl)); \
	  where="stack $(STACK) in $(REGION)"; aws="$(AWS) --region $(REGION)"; \
	fi; \
	if [ -z "$$pool" ] || [ "$$pool" = None ]; then \
	  echo "No user pool in $$where: deploy or make local with AUTH=cognito" >&2; exit 1; \
	fi
# The password never goes on a command line, where `ps` shows it to every user of the machine: it comes from the
# environment (PASSWORD=… make user …) or is asked for, and reaches the AWS CLI in a private temporary file
# (--cli-input-json file://…, mode 0600, removed on exit). PASSWORD=… after `make` would be on make's own.
NEED_CREDENTIALS = @if [ -z "$(USERNAME)" ]; then \
	echo "usage: [PASSWORD=...] make $@ USERNAME=... (PORT=... for make local); without PASSWORD it is asked for" >&2; \
	exit 2; fi
$(if $(and $(filter user token,$(MAKECMDGOALS)),$(filter command line,$(origin PASSWORD))),$(error PASSWORD on make's command line shows in ps: \
	run PASSWORD=... make $(MAKECMDGOALS) ... (from the environment), or leave it out to be asked))
ASK_PASSWORD = \
	if [ -z "$$PASSWORD" ]; then \
	  printf 'Password for %s: ' '$(USERNAME)' >&2; stty -echo 2>/dev/null; read -r PASSWORD; stty echo 2>/dev/null; \
	  echo >&2; \
	fi; export PASSWORD; \
	input=$$(mktemp) || exit 1; trap 'rm -f "$$input"' EXIT
# $(call CLI_INPUT,<a Python expression of user, password, pool, client>): that request, as JSON, into $$input.
CLI_INPUT = $(PY) -c 'import json, os, sys; user, pool, client = sys.argv[1:]; password = os.environ["PASSWORD"]; \
	print(json.dumps($(1)))' '$(USERNAME)' "$$pool" "$$client" > "$$input"

user: $(PY) ## Create a confirmed user in the pool (Auth=cognito): USERNAME=...; the password from env PASSWORD or asked
	$(NEED_CREDENTIALS)
	@$(RESOLVE_POOL); $(ASK_PASSWORD); \
	$$aws cognito-idp admin-create-user --user-pool-id "$$pool" --username '$(USERNAME)' \
	  --message-action SUPPRESS >/dev/null && \
	$(call CLI_INPUT,{"UserPoolId": pool$(,) "Username": user$(,) "Password": password$(,) "Permanent": True}) && \
	$$aws cognito-idp admin-set-user-password --cli-input-json "file://$$input" && \
	echo "User $(USERNAME) created in $$where (pool $$pool)"

token: $(PY) ## Sign in (USERNAME=...; env PASSWORD or asked): print the wscat line, then the access token alone
	$(NEED_CREDENTIALS)
	@$(RESOLVE_POOL); $(ASK_PASSWORD); \
	$(call CLI_INPUT,{"ClientId": client$(,) "AuthFlow": "USER_PASSWORD_AUTH"$(,) \
	  "AuthParameters": {"USERNAME": user$(,) "PASSWORD": password}}) || exit 1; \
	token=$$($$aws cognito-idp initiate-auth --cli-input-json "file://$$input" \
	  --query AuthenticationResult.AccessToken --output text) || exit 1; \
	echo "Connect ($$where):  npx wscat -c $$url -s bedrock-ws-chat -s $$token"; \
	echo "$$token"

outputs: ## Print the main stack's outputs
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	  --query "Stacks[0].Outputs" --output table

# `aws logs tail` exists in AWS CLI v2 only (the venv's pinned CLI is v1), so this one uses `aws` from PATH.
logs: ## Follow the stack's log groups (functions + access log) with AWS CLI v2's `aws logs tail --follow`
	@aws --version 2>&1 | grep -q '^aws-cli/2' || { echo "make logs needs AWS CLI v2 on PATH (aws logs tail)" >&2; exit 1; }
	@groups=$$(aws cloudformation describe-stack-resources --region $(REGION) --stack-name $(STACK) \
	  --query "StackResources[?ResourceType=='AWS::Logs::LogGroup'].PhysicalResourceId" --output text) || exit 1; \
	for group in $$groups; do \
	  aws logs tail "$$group" --region $(REGION) --follow --since 10m --format short \
	    | awk -v name="$${group##*/}" '{ print name, $$0; fflush() }' & \
	done; wait

dashboard: ## Print the URL of the stack's CloudWatch dashboard (metrics, alarms)
	@$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	  --query "Stacks[0].Outputs[?OutputKey=='DashboardUrl'].OutputValue" --output text

delete: ## Delete the main stack, then the IAM stack (the artifact bucket is kept)
	$(AWS) cloudformation delete-stack --region $(REGION) --stack-name $(STACK)
	$(AWS) cloudformation wait stack-delete-complete --region $(REGION) --stack-name $(STACK)
	$(AWS) cloudformation delete-stack --region $(REGION) --stack-name $(IAM_STACK)
	$(AWS) cloudformation wait stack-delete-complete --region $(REGION) --stack-name $(IAM_STACK)

clean: ## Remove the venvs, node_modules and build output
	rm -rf $(VENV) $(CHECKOV_VENV) $(LAMBDA_VENV) node_modules build .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
