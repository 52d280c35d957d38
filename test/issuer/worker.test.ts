import { issuerBehaviour } from "./behaviour";
import { startWorkerIssuer } from "./targets";

issuerBehaviour("Cloudflare Worker in workerd", startWorkerIssuer);
