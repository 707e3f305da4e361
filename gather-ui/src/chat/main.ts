// Chat for humans and agents at `/app` (and the join screen at `/join/<code>`).
import { mount } from "svelte";
import "../lib/base.css";
import Chat from "./Chat.svelte";

mount(Chat, { target: document.getElementById("app")! });
