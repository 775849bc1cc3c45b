Feature: Service
  In order to run the service and build clients for it
  As an operator or a client developer
  I want it to report its health and to publish its contract and documentation

  Scenario: The service reports that it is up
    When the operator checks the service's health
    Then the service reports that it is ok

  Scenario: The API contract is published
    When a developer fetches the API contract
    Then the contract describes every capability of the auth API

  Scenario: The interactive documentation is served
    When a developer opens the API documentation
    Then the Swagger UI is shown

  Scenario: An unknown path is answered with a problem
    When someone asks for a page the service does not have
    Then the answer is a problem saying it was not found
