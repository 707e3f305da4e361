//! What the shop sells (contract §8.1): three Gelato products, each a Gelato catalogue
//! narrowed by fixed attributes, with the options an agent picks mapped to Gelato
//! attributes, and the variant the menu prices.

/// One product of the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Gelato's catalogue (`/v3/catalogs/<catalogue>/products:search`).
    pub catalogue: &'static str,
    /// Attribute filters every variant must match.
    pub fixed: &'static [(&'static str, &'static str)],
    /// The agent's options and the Gelato attribute each one sets.
    pub options: &'static [(&'static str, &'static str)],
    /// The variant the menu's price is for (option → value).
    pub reference: &'static [(&'static str, &'static str)],
}

impl Product {
    /// `<Name> — <Description>`, as everywhere in the contract.
    pub fn display_name(&self) -> String {
        format!("{} — {}", self.name, self.description)
    }

    /// The Gelato attribute an option of this product sets.
    pub fn attribute(&self, option: &str) -> Option<&'static str> {
        self.options
            .iter()
            .find(|(o, _)| *o == option)
            .map(|(_, a)| *a)
    }

    /// The option names, in their order.
    pub fn option_names(&self) -> Vec<&'static str> {
        self.options.iter().map(|(o, _)| *o).collect()
    }
}

/// In display order.
pub const PRODUCTS: [Product; 3] = [
    Product {
        id: "t-shirt",
        name: "T-Shirt",
        description: "Unisex crewneck, printed front",
        catalogue: "t-shirts",
        fixed: &[
            ("GarmentCut", "unisex"),
            ("GarmentSubcategory", "crewneck"),
            ("GarmentQuality", "classic"),
            ("GarmentPrint", "4-0"),
            ("ProductStatus", "activated"),
        ],
        options: &[("size", "GarmentSize"), ("color", "GarmentColor")],
        reference: &[("size", "M"), ("color", "white")],
    },
    Product {
        id: "mug",
        name: "Ceramic Mug",
        description: "White ceramic, printed wrap",
        catalogue: "mugs",
        fixed: &[
            ("MugMaterial", "ceramic-white"),
            ("ProductStatus", "activated"),
        ],
        options: &[("size", "MugSize")],
        reference: &[("size", "11-oz")],
    },
    Product {
        id: "framed-print",
        name: "Framed Print",
        description: "Black wood frame, plexiglass front",
        catalogue: "framed-posters",
        fixed: &[
            ("FrameColor", "black"),
            ("FrameMaterial", "wood"),
            ("ProductStatus", "activated"),
        ],
        options: &[("size", "PaperFormat"), ("orientation", "Orientation")],
        reference: &[("size", "a3"), ("orientation", "ver")],
    },
];

pub fn product(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

/// The menu's one category.
pub const CATEGORY: &str = "products";
pub const CATEGORY_NAME: &str = "Custom Merch — Upload your design, printed & shipped";
pub const ITEMS_PER_PAGE: usize = 5;

/// Garment sizes smallest first; others after them, alphabetically.
const SIZE_ORDER: [&str; 9] = ["XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL", "5XL"];

/// Sorts an attribute's values: garment sizes by size, everything else by text.
pub fn sort_values(attribute: &str, values: &mut [String]) {
    values.sort();
    if attribute == "GarmentSize" {
        let rank = |v: &String| {
            SIZE_ORDER
                .iter()
                .position(|s| s.eq_ignore_ascii_case(v))
                .unwrap_or(SIZE_ORDER.len())
        };
        values.sort_by_key(rank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_options() {
        assert_eq!(PRODUCTS.map(|p| p.id), ["t-shirt", "mug", "framed-print"]);
        let shirt = product("t-shirt").expect("t-shirt");
        assert_eq!(
            shirt.display_name(),
            "T-Shirt — Unisex crewneck, printed front"
        );
        assert_eq!(shirt.attribute("color"), Some("GarmentColor"));
        assert_eq!(shirt.attribute("weight"), None);
        assert!(product("hat").is_none());
        for p in PRODUCTS {
            // The reference variant sets every option.
            assert_eq!(p.reference.len(), p.options.len(), "{}", p.id);
            assert!(p.reference.iter().all(|(o, _)| p.attribute(o).is_some()));
        }
    }

    #[test]
    fn sizes_sort_by_size_then_the_rest() {
        let mut v: Vec<String> = ["XL", "M", "2XL", "S", "XS", "one-size", "L"]
            .map(String::from)
            .to_vec();
        sort_values("GarmentSize", &mut v);
        assert_eq!(v, ["XS", "S", "M", "L", "XL", "2XL", "one-size"]);
        let mut c: Vec<String> = ["white", "black", "navy"].map(String::from).to_vec();
        sort_values("GarmentColor", &mut c);
        assert_eq!(c, ["black", "navy", "white"]);
    }
}
