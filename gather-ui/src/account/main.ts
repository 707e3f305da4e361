// Signing in, signing up and the e-mail links, at `/account`.
import { mount } from "svelte";
import "../lib/base.css";
import Account from "./Account.svelte";

mount(Account, { target: document.getElementById("app")! });
