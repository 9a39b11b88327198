// Command quickstart shows the Cinema gRPC API from Go: it registers a user (or logs in
// when the login is taken), searches the catalog, likes the best match and prints the
// user's recommendations, paging through them with page_token.
//
//	go run ./cmd/quickstart -addr 127.0.0.1:50051 -login alice -password 'correct horse'
//
// `-addr` is where every service answers (`cinema up`); in production each has its own
// address, given with -auth-addr, -catalog-addr, -likes-addr and -recommendations-addr
// (`make run-prod`: 127.0.0.1:50061 to 50064). One connection is made per address.
//
// It exits 1 with the gRPC status (code, message, field violations) when a call fails,
// 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "cinema.example/cinema/gen/cinema/auth/v1"
	catalogv1 "cinema.example/cinema/gen/cinema/catalog/v1"
	likesv1 "cinema.example/cinema/gen/cinema/likes/v1"
	recommendationsv1 "cinema.example/cinema/gen/cinema/recommendations/v1"
)

func main() {
	addr := flag.String("addr", envOr("CINEMA_GRPC_TARGET", "127.0.0.1:50051"), "gRPC address of `cinema up` (host:port; env CINEMA_GRPC_TARGET)")
	var addrs [len(services)]*string
	for i, service := range services {
		addrs[i] = flag.String(service+"-addr", "", "gRPC address of the "+service+" service (default: -addr)")
	}
	login := flag.String("login", envOr("CINEMA_LOGIN", "quickstart-go"), "login to register or log in with (env CINEMA_LOGIN)")
	password := flag.String("password", envOr("CINEMA_PASSWORD", "quickstart-password"), "password (env CINEMA_PASSWORD)")
	query := flag.String("query", "matrix", "search text; the best match is liked")
	pageSize := flag.Int("page-size", 5, "recommendations per page")
	pages := flag.Int("pages", 2, "at most this many pages of recommendations")
	wait := flag.Duration("wait", 15*time.Second, "how long to watch for the list that follows the like (0: do not wait)")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for the whole run")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	targets := map[string]string{}
	for i, service := range services {
		targets[service] = *addr
		if *addrs[i] != "" {
			targets[service] = *addrs[i]
		}
	}
	if err := run(ctx, os.Stdout, config{targets, *login, *password, *query, int32(*pageSize), *pages, *wait}); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", describe(err))
		os.Exit(1)
	}
}

// services are the Cinema services, each reachable at an address of its own.
var services = [...]string{"auth", "catalog", "likes", "recommendations"}

type config struct {
	targets                map[string]string // by service
	login, password, query string
	pageSize               int32
	pages                  int
	wait                   time.Duration
}

// connect opens one connection per distinct address; conns maps each service to its own.
func connect(targets map[string]string) (conns map[string]*grpc.ClientConn, closeAll func(), err error) {
	byAddr := map[string]*grpc.ClientConn{}
	closeAll = func() {
		for _, conn := range byAddr {
			conn.Close()
		}
	}
	conns = map[string]*grpc.ClientConn{}
	for service, addr := range targets {
		if byAddr[addr] == nil {
			// Plaintext, as `cinema up` listens; use credentials.NewTLS for a TLS endpoint.
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("connect %s: %w", addr, err)
			}
			byAddr[addr] = conn
		}
		conns[service] = byAddr[addr]
	}
	return conns, closeAll, nil
}

func run(ctx context.Context, out io.Writer, cfg config) error {
	conns, closeAll, err := connect(cfg.targets)
	if err != nil {
		return err
	}
	defer closeAll()
	auth := authv1.NewAuthServiceClient(conns["auth"])
	catalog := catalogv1.NewCatalogServiceClient(conns["catalog"])
	likes := likesv1.NewLikesServiceClient(conns["likes"])
	recs := recommendationsv1.NewRecommendationServiceClient(conns["recommendations"])

	// Register is public; a taken login is ALREADY_EXISTS, and then we just log in.
	_, err = auth.Register(ctx, &authv1.RegisterRequest{Login: cfg.login, Password: cfg.password})
	switch status.Code(err) {
	case codes.OK:
		fmt.Fprintf(out, "registered %s\n", cfg.login)
	case codes.AlreadyExists:
		fmt.Fprintf(out, "login %s exists; logging in\n", cfg.login)
	default:
		return fmt.Errorf("register: %w", err)
	}
	session, err := auth.Login(ctx, &authv1.LoginRequest{Login: cfg.login, Password: cfg.password})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Fprintf(out, "logged in as %s (user %s)\n", session.GetUser().GetLogin(), session.GetUser().GetId())

	// Every call below carries the access token as `authorization: Bearer <token>`.
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+session.GetTokens().GetAccessToken())

	found, err := catalog.SearchFilms(ctx, &catalogv1.SearchFilmsRequest{Query: cfg.query, PageSize: 3})
	if err != nil {
		return fmt.Errorf("search %q: %w", cfg.query, err)
	}
	if len(found.GetFilms()) == 0 {
		return fmt.Errorf("search %q: no films", cfg.query)
	}
	film := found.GetFilms()[0]
	fmt.Fprintf(out, "found %d films for %q; best: %s %q (%d)\n", found.GetTotalSize(), cfg.query, film.GetId(), film.GetTitle(), film.GetYear())

	rated, err := likes.RateFilm(ctx, &likesv1.RateFilmRequest{FilmId: film.GetId(), Rating: likesv1.Rating_RATING_LIKE})
	if err != nil {
		return fmt.Errorf("like %s: %w", film.GetId(), err)
	}
	fmt.Fprintf(out, "liked %s %q (changed=%t)\n", film.GetId(), film.GetTitle(), rated.GetChanged())

	if cfg.wait > 0 {
		if err := waitForPersonalList(ctx, out, recs, cfg.wait); err != nil {
			return err
		}
	}

	// Page through the list: each response's next_page_token asks for the next page.
	shown, token := 0, ""
	for page := 1; page <= cfg.pages; page++ {
		list, err := recs.GetMyRecommendations(ctx, &recommendationsv1.GetMyRecommendationsRequest{PageSize: cfg.pageSize, PageToken: token})
		if err != nil {
			return fmt.Errorf("recommendations page %d: %w", page, err)
		}
		fmt.Fprintf(out, "recommendations page %d (fallback=%t, generated %s):\n", page, list.GetFallback(), list.GetGenerateTime().AsTime().Format(time.RFC3339))
		for _, item := range list.GetItems() {
			shown++
			reason := ""
			if reasons := item.GetReasons(); len(reasons) > 0 {
				reason = " — " + reasons[0].GetText()
			}
			fmt.Fprintf(out, "  %2d. %s %q score=%.3f sources=%s%s\n", shown, item.GetFilm().GetId(), item.GetFilm().GetTitle(), item.GetScore(), sources(item.GetSources()), reason)
		}
		token = list.GetNextPageToken()
		if token == "" {
			break
		}
	}
	fmt.Fprintf(out, "done: %d recommendations\n", shown)
	return nil
}

// waitForPersonalList watches the caller's list until one made from the like arrives
// (fallback=false) or `wait` passes; the list is refreshed in the background after a like.
func waitForPersonalList(ctx context.Context, out io.Writer, recs recommendationsv1.RecommendationServiceClient, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel() // cancelling the context ends the stream
	stream, err := recs.WatchMyRecommendations(ctx, &recommendationsv1.WatchMyRecommendationsRequest{PageSize: 1})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	for {
		update, err := stream.Recv()
		if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(out, "no personal list within %s; showing the current one\n", wait)
			return nil
		}
		if err != nil { // io.EOF too: the server never ends this stream by itself
			return fmt.Errorf("watch: %w", err)
		}
		if !update.GetFallback() {
			fmt.Fprintf(out, "personal list ready (generated %s)\n", update.GetGenerateTime().AsTime().Format(time.RFC3339))
			return nil
		}
	}
}

func sources(values []recommendationsv1.Source) string {
	names := make([]string, len(values))
	for i, value := range values {
		names[i] = strings.ToLower(strings.TrimPrefix(value.String(), "SOURCE_"))
	}
	return strings.Join(names, ",")
}

// describe renders an error with its gRPC status: code, message and the details the
// services attach (BadRequest field violations, RetryInfo).
func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	// For a wrapped error FromError keeps the code; its message is the whole err.Error().
	text := fmt.Sprintf("%v\n  status: %s", err, st.Code())
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				text += fmt.Sprintf("\n  field %s: %s", v.GetField(), v.GetDescription())
			}
		case *errdetails.RetryInfo:
			text += fmt.Sprintf("\n  retry after %s", d.GetRetryDelay().AsDuration())
		}
	}
	return text
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
