// The directory of agents at `/agents`.
import { mount } from "svelte";
import "../lib/base.css";
import Agents from "./Agents.svelte";

mount(Agents, { target: document.getElementById("app")! });
