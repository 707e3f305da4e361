//! One MCP session: the protocol's requests (tools, resources, prompts) answered from the
//! catalog, with the token its sign-in call returned.

use super::catalog::{self, ToolSpec};
use super::dispatch::{self, Caller, CallerIp, Loopback};
use super::{McpOptions, McpResource};
use crate::app::App;
use crate::http::ApiDocument;
use parking_lot::Mutex;
use poem::http::Method;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    Prompt, PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::sync::{Arc, OnceLock};

/// What every session shares.
pub(crate) struct Shared {
    app: App,
    document: ApiDocument,
    options: Arc<McpOptions>,
    loopback: Arc<Loopback>,
    /// The tools without and with the framework's routes, made on first use.
    tools: [OnceLock<Arc<Vec<ToolSpec>>>; 2],
}

impl Shared {
    pub(crate) fn new(
        app: App,
        document: ApiDocument,
        options: Arc<McpOptions>,
        loopback: Arc<Loopback>,
    ) -> Self {
        Shared {
            app,
            document,
            options,
            loopback,
            tools: Default::default(),
        }
    }

    fn tools(&self) -> Arc<Vec<ToolSpec>> {
        let core = self.app.settings().mcp.core_tools;
        self.tools[usize::from(core)]
            .get_or_init(|| Arc::new(catalog::tools(self.document.json(), &self.options, core)))
            .clone()
    }
}

/// A session's handler: rmcp makes one per session (per request, for stateless clients).
#[derive(Clone)]
pub(crate) struct Session {
    shared: Arc<Shared>,
    /// The token a sign-in tool returned in this session.
    token: Arc<Mutex<Option<String>>>,
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>) -> Session {
        Session {
            shared,
            token: Arc::default(),
        }
    }

    /// The caller of a request: this session's token, else the transport's
    /// `Authorization` header.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Caller {
        let parts = context.extensions.get::<poem::http::request::Parts>();
        let header = parts
            .and_then(|p| p.headers.get(poem::http::header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ip = parts
            .and_then(|p| p.extensions.get::<CallerIp>().copied())
            .unwrap_or(CallerIp(None));
        let session = self.token.lock().clone().map(|t| format!("Bearer {t}"));
        Caller {
            authorization: session.or(header),
            ip,
        }
    }

    async fn run_tool(&self, params: CallToolRequestParams, caller: Caller) -> CallToolResult {
        let tools = self.shared.tools();
        let Some(spec) = tools.iter().find(|t| t.tool.name == params.name) else {
            return tool_error(format!(
                "There is no tool `{}`: tools/list has them all.",
                params.name
            ));
        };
        if spec.needs_token && caller.authorization.is_none() {
            return tool_error(format!(
                "`{}`: {}",
                params.name, self.shared.options.needs_token_note
            ));
        }
        let args = params.arguments.unwrap_or_default();
        let answer = match dispatch::call(&self.shared.loopback, spec, &args, &caller).await {
            Ok(answer) => answer,
            Err(message) => return tool_error(message),
        };
        if let (true, Some(field)) = (answer.ok(), &spec.binds_token) {
            if let Some(token) = answer
                .json
                .as_ref()
                .and_then(|j| j[field.as_str()].as_str())
            {
                *self.token.lock() = Some(token.to_string());
            }
        }
        dispatch::result(spec, &answer)
    }
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

impl ServerHandler for Session {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .build();
        let name = &self.shared.app.config().name;
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(name.clone(), env!("CARGO_PKG_VERSION")))
            .with_instructions(self.shared.options.instructions.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = self.shared.tools().iter().map(|t| t.tool.clone()).collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = self.caller(&context);
        Ok(CallToolResponse::Complete(
            self.run_tool(request, caller).await,
        ))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let resources = self
            .shared
            .options
            .resources
            .iter()
            .filter(|r| !r.uri.contains('{'))
            .map(|r| {
                Resource::new(r.uri, r.name)
                    .with_description(r.description)
                    .with_mime_type(r.mime_type)
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = self
            .shared
            .options
            .resources
            .iter()
            .filter(|r| r.uri.contains('{'))
            .map(|r| {
                ResourceTemplate::new(r.uri, r.name)
                    .with_description(r.description)
                    .with_mime_type(r.mime_type)
            })
            .collect();
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let (resource, path) = self
            .shared
            .options
            .resources
            .iter()
            .find_map(|r| Some((r, route_of(r, &uri)?)))
            .ok_or_else(|| {
                McpError::resource_not_found(format!("No resource is at {uri}."), None)
            })?;
        let caller = self.caller(&context);
        let answer = dispatch::send(&self.shared.loopback, Method::GET, &path, None, &caller).await;
        if !answer.ok() {
            let message = format!("{uri}: {}", answer.error_text());
            return Err(match answer.status.as_u16() {
                404 => McpError::resource_not_found(message, None),
                _ => McpError::invalid_params(message, None),
            });
        }
        let contents = ResourceContents::text(answer.text, uri).with_mime_type(resource.mime_type);
        Ok(ReadResourceResponse::Complete(ReadResourceResult::new(
            vec![contents],
        )))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = self
            .shared
            .options
            .prompts
            .iter()
            .map(|p| {
                let args = p
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.name)
                            .with_description(a.description)
                            .with_required(a.required)
                    })
                    .collect();
                Prompt::new(p.name, Some(p.description), Some(args)).with_title(p.title)
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let prompt = self
            .shared
            .options
            .prompts
            .iter()
            .find(|p| p.name == request.name)
            .ok_or_else(|| {
                McpError::invalid_params(format!("There is no prompt `{}`.", request.name), None)
            })?;
        let args = request.arguments.unwrap_or_default();
        for a in prompt.arguments.iter().filter(|a| a.required) {
            let given = args.get(a.name).and_then(|v| v.as_str());
            if given.is_none_or(|v| v.trim().is_empty()) {
                return Err(McpError::invalid_params(
                    format!("The argument `{}` is required.", a.name),
                    None,
                ));
            }
        }
        let text = (prompt.render)(&args).map_err(|m| McpError::invalid_params(m, None))?;
        let mut result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]);
        result.description = Some(prompt.description.to_string());
        Ok(GetPromptResponse::Complete(result))
    }
}

/// The route that serves `uri`, if `resource` is where it is.
fn route_of(resource: &McpResource, uri: &str) -> Option<String> {
    let Some((before, rest)) = resource.uri.split_once('{') else {
        return (resource.uri == uri).then(|| resource.path.to_string());
    };
    let (var, after) = rest.split_once('}')?;
    let value = uri.strip_prefix(before)?.strip_suffix(after)?;
    let value = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    if value.is_empty() {
        return None;
    }
    Some(
        resource
            .path
            .replace(&format!("{{{var}}}"), &dispatch::path_segment(&value)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_templated_uri_fills_the_route_with_its_value_encoded() {
        let r = McpResource::new(
            "gather://skills/{name}/SKILL.md",
            "/api/skills/{name}/SKILL.md",
            "s",
            "d",
        );
        assert_eq!(
            route_of(&r, "gather://skills/anthropics%2Fpdf/SKILL.md").as_deref(),
            Some("/api/skills/anthropics%2Fpdf/SKILL.md")
        );
        // A client that does not encode the slash reaches the same skill.
        assert_eq!(
            route_of(&r, "gather://skills/anthropics/pdf/SKILL.md").as_deref(),
            Some("/api/skills/anthropics%2Fpdf/SKILL.md")
        );
        assert_eq!(route_of(&r, "gather://skills//SKILL.md"), None);
        assert_eq!(route_of(&r, "gather://other/x"), None);
        let help = McpResource::new("gather://help", "/help", "help", "d");
        assert_eq!(route_of(&help, "gather://help").as_deref(), Some("/help"));
        assert_eq!(route_of(&help, "gather://help/x"), None);
    }
}
