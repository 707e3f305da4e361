//! JSON whose shape is decided at run time (records of runtime-defined collections,
//! settings, collections) but documented in the OpenAPI document by a typed schema.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use std::borrow::Cow;
use std::marker::PhantomData;

/// A JSON value sent or received as is, described by the schema of `S` (a
/// `#[derive(Object)]` type that exists only to document the shape). The server's
/// conformance test (`tests/openapi_conformance.rs`) checks that the two agree.
pub struct Described<S> {
    pub value: Value,
    shape: PhantomData<fn() -> S>,
}

impl<S> Described<S> {
    pub fn new(value: Value) -> Self {
        Described {
            value,
            shape: PhantomData,
        }
    }
}

/// `Json(Described::new(v))`, the usual way a handler answers.
pub fn described<S>(value: Value) -> poem_openapi::payload::Json<Described<S>> {
    poem_openapi::payload::Json(Described::new(value))
}

impl<S: Type> Type for Described<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        S::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(std::iter::once(&self.value))
    }
}

impl<S: Type> ToJSON for Described<S> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

impl<S: Type> ParseFromJSON for Described<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Described::new(value.unwrap_or_default()))
    }
}

/// A JSON merge patch of `S` (RFC 7396), received as is: any part of `S`, at any depth;
/// what it leaves out keeps its value.
pub type MergePatch<S> = Described<Patch<S>>;

/// The schema of a merge patch of `S`: `S`'s with nothing required and no defaults
/// (schema `<S>Patch`, and `<T>Patch` for every schema `S` refers to). Only a type: no
/// value of it is ever made.
pub struct Patch<S>(PhantomData<fn() -> S>);

const PATCH_SUFFIX: &str = "Patch";

impl<S: Type> Type for Patch<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        format!("{}{PATCH_SUFFIX}", S::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        patch_ref_name(&S::schema_ref())
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
        patch_ref(registry, &S::schema_ref());
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

/// The patch schema's name for a reference (inline schemas are patched in place).
fn patch_ref_name(r: &MetaSchemaRef) -> MetaSchemaRef {
    match r {
        MetaSchemaRef::Reference(name) => MetaSchemaRef::Reference(format!("{name}{PATCH_SUFFIX}")),
        MetaSchemaRef::Inline(s) => MetaSchemaRef::Inline(Box::new(patch_schema_shallow(s))),
    }
}

/// Registers the patch form of what `r` refers to, and returns the reference to it.
fn patch_ref(registry: &mut Registry, r: &MetaSchemaRef) -> MetaSchemaRef {
    match r {
        MetaSchemaRef::Reference(name) => {
            let patched = format!("{name}{PATCH_SUFFIX}");
            if !registry.schemas.contains_key(&patched) {
                if let Some(original) = registry.schemas.get(name).cloned() {
                    // Placed first, so a schema that refers to itself ends.
                    registry.schemas.insert(patched.clone(), MetaSchema::ANY);
                    let schema = patch_schema(registry, &original);
                    registry.schemas.insert(patched.clone(), schema);
                }
            }
            MetaSchemaRef::Reference(patched)
        }
        MetaSchemaRef::Inline(s) => MetaSchemaRef::Inline(Box::new(patch_schema(registry, s))),
    }
}

fn patch_schema_shallow(s: &MetaSchema) -> MetaSchema {
    MetaSchema {
        required: vec![],
        default: None,
        title: s.title.as_ref().map(|t| format!("{t}{PATCH_SUFFIX}")),
        ..s.clone()
    }
}

fn patch_schema(registry: &mut Registry, s: &MetaSchema) -> MetaSchema {
    let mut out = patch_schema_shallow(s);
    let mut each = |list: &[MetaSchemaRef]| list.iter().map(|r| patch_ref(registry, r)).collect();
    out.all_of = each(&s.all_of);
    out.any_of = each(&s.any_of);
    out.one_of = each(&s.one_of);
    out.properties = s
        .properties
        .iter()
        .map(|(name, r)| (*name, patch_ref(registry, r)))
        .collect();
    out.items = s.items.as_ref().map(|r| Box::new(patch_ref(registry, r)));
    out.additional_properties = s
        .additional_properties
        .as_ref()
        .map(|r| Box::new(patch_ref(registry, r)));
    out
}
