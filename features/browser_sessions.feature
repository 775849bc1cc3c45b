Feature: Browser sessions
  In order that no script on the page can carry my session away
  As a user of a browser app
  I want my refresh token kept in a cookie that only my browser and the API see

  Scenario: Logging in from the browser app keeps the refresh token out of the page
    Given Ada has registered
    When she logs in from the browser app
    Then her browser holds a session cookie that scripts cannot read
    And the page receives an access token and a CSRF token but no refresh token
    And her access token opens her profile

  Scenario: Refreshing from the browser app rotates the session cookie
    Given Ada has logged in from the browser app
    When she refreshes her browser session
    Then her browser session cookie is replaced
    And her browser holds a session cookie that scripts cannot read
    And her new access token opens her profile

  Scenario: Logging out from the browser app ends the session and clears the cookie
    Given Ada has logged in from the browser app
    When she logs out of her browser session
    Then she is logged out
    And her browser no longer holds a session cookie
    And her access token no longer opens her profile
    And her refresh token can no longer be exchanged

  Scenario: A browser session that was logged out cannot be refreshed
    Given Ada has logged in from the browser app
    And she has logged out of her browser session
    When she refreshes her browser session
    Then the request is refused as unauthenticated
