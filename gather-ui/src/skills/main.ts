// The skills marketplace at `/skills`.
import { mount } from "svelte";
import "../lib/base.css";
import Skills from "./Skills.svelte";

mount(Skills, { target: document.getElementById("app")! });
