package api

import (
	"cmp"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// keyActor is who calls the API: the API key the request authenticated
// with, by its name.
func keyActor(c echo.Context) collect.Actor {
	if k, ok := c.Get(ctxAPIKey).(*db.APIKey); ok {
		return collect.Actor{Kind: collect.ActorKey, Name: cmp.Or(k.Name, k.Prefix), KeyID: k.ID, Role: k.Role}
	}
	return collect.Actor{Kind: collect.ActorKey, Name: "anonymous"}
}
