"""The functions' code: handlers on top of a service layer, which runs plans made by the domain's pure rules through
the gateways (the only AWS calls); models at the bottom. Each layer imports only the ones below it."""
