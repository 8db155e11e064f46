//! `GET /`: what Hearth is, where to sign in, and whether the server is well. Useful without
//! JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn WelcomePage() -> impl IntoView {
    view! {
        <Title text="Hearth: self-hosted chat"/>
        <main class="page narrow">
            <header class="hero">
                <h1>"Hearth"</h1>
                <p class="lead">"Self-hosted chat for your team, family or club: private chats, groups, and voice calls, on a server you run."</p>
            </header>
            <section aria-labelledby="status-heading" class="card">
                <h2 id="status-heading">"Server status"</h2>
                <p><span class="dot online" aria-hidden="true"></span>"This server is up and accepting connections."</p>
            </section>
            <section aria-labelledby="clients-heading" class="card">
                <h2 id="clients-heading">"Connect"</h2>
                <p>"Point a ChatCLI client at this server's address, or use the nchat API under "<code>"/api"</code>"."</p>
                <p>"Forgot your password? Ask for a reset link from your client; the link brings you back here."</p>
            </section>
        </main>
    }
}
