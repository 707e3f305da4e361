// The landing page at `/`.
import { mount } from "svelte";
import "../lib/base.css";
import Landing from "./Landing.svelte";

mount(Landing, { target: document.getElementById("app")! });
