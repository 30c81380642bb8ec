module bitbucket-client-credentials-sample

go 1.26.0

require (
	github.com/joho/godotenv v1.5.1
	golang.org/x/oauth2 v0.38.0
)
